import { dateColumn } from '../persistence/sql-engine.js';
import { deliveryFingerprint, readCallbackDelivery } from './callback-delivery.js';
import { approvedVersion, isIdentified, withFingerprint, type DeliveryContext } from './connection-rules.js';
import type { ConnectionRepository, QuarantinedDelivery } from './connection.repository.js';

/** What the command needs of the BFF's configuration: the same as the callback's. */
export interface OperatorSettings {
  /** MYDEX_CONNECTION_VERSION: the version of a delivery that names none [I]. */
  configuredVersion: number;
  /** MYDEX_CONNECTION_NID. */
  connectionNid: string;
}

export const CONNECTIONS_USAGE = [
  'npm run connections -- quarantine              list the quarantined callback deliveries',
  "npm run connections -- quarantine apply <id>   apply one: it becomes the member's connection",
  'npm run connections -- quarantine drop <id>    dismiss one (kept in the audit trail, without its key)',
].join('\n');

/**
 * `npm run connections`: the operator's view of the callback deliveries that were stored but not
 * applied (docs/connections.md "Quarantined deliveries"). Prints no secret: never the member key,
 * never `fields`. Answers the exit status: 0 done, 1 refused (unknown id, not quarantined…), 64 usage.
 */
export async function runConnectionsCommand(
  args: readonly string[],
  repository: ConnectionRepository,
  settings: OperatorSettings,
  out: (line: string) => void,
): Promise<number> {
  const [group, action, idText, ...rest] = args;
  if (group !== 'quarantine' || rest.length > 0) {
    out(CONNECTIONS_USAGE);
    return 64;
  }
  if (action === undefined || action === 'list') {
    const rows = await repository.listQuarantined();
    out(rows.length === 0 ? 'No quarantined deliveries.' : `${rows.length} quarantined deliveries:`);
    for (const row of rows) out(describe(row));
    return 0;
  }
  const id = Number(idText);
  if ((action !== 'apply' && action !== 'drop') || !Number.isInteger(id) || id < 1) {
    out(CONNECTIONS_USAGE);
    return 64;
  }
  try {
    if (action === 'apply') {
      const { connectionId } = await applyQuarantined(repository, settings, id);
      out(`Applied delivery ${id}: connection ${connectionId} is now the member's connection.`);
    } else {
      await repository.dropQuarantined(await repository.quarantined(id), new Date());
      out(`Dropped delivery ${id}: kept in the audit trail as dropped, its copy of the key removed.`);
    }
    return 0;
  } catch (error) {
    out(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

/**
 * The operator applies a quarantined delivery: it becomes the member's connection, whatever it was
 * bound to before (the rows bound to its MydexID or uid are superseded), written as the callback
 * would have written it, and the event is marked applied, its copy of the key removed.
 */
async function applyQuarantined(
  repository: ConnectionRepository,
  settings: OperatorSettings,
  id: number,
  now = new Date(),
): Promise<{ connectionId: string }> {
  const event = await repository.quarantined(id);
  const delivery = readCallbackDelivery(event.body, settings.connectionNid);
  if (delivery.kind !== 'connection' || !isIdentified(delivery)) {
    throw new Error(`Event ${id} cannot be applied: it names no usable MydexID and uid (drop it instead).`);
  }
  const own = (await repository.bindings(delivery)).find((row) => row.connectionId === delivery.connectionId);
  const context: DeliveryContext = { method: event.method === 'PUT' ? 'PUT' : 'POST', contentType: 'form', requestId: event.requestId };
  await repository.applyQuarantined(event, {
    delivery,
    context,
    now,
    fingerprints: withFingerprint(own?.fingerprints?.split(',') ?? [], deliveryFingerprint(delivery)),
    version: approvedVersion(delivery, settings.configuredVersion),
  });
  return { connectionId: delivery.connectionId };
}

function describe(row: QuarantinedDelivery): string {
  const anomalies = row.anomalies.length > 0 ? ` anomalies=${row.anomalies.join(',')}` : '';
  return (
    `#${row.id} ${dateColumn(row.receivedAt).toISOString()} ${row.method} reason=${row.reason ?? '-'} ` +
    `connection_id=${row.connectionId ?? '-'} uid=${row.uid ?? '-'} mydexid=${row.mydexid ?? '-'}${anomalies} request=${row.requestId}`
  );
}
