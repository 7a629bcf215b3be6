import { dateColumn } from '../persistence/sql-engine.js';
import type { ConnectionStore, QuarantinedDelivery } from './connection-store.js';

export const CONNECTIONS_USAGE = [
  'npm run connections -- quarantine              list the quarantined callback deliveries',
  'npm run connections -- quarantine apply <id>   apply one: it becomes the member\'s connection',
  'npm run connections -- quarantine drop <id>    dismiss one (kept in the audit trail, without its key)',
].join('\n');

/**
 * `npm run connections`: the operator's view of the callback deliveries that were stored but not
 * applied (docs/connections.md "Quarantined deliveries"). Prints no secret: never the member key,
 * never `fields`. Answers the exit status: 0 done, 1 refused (unknown id, not quarantined…), 64 usage.
 */
export async function runConnectionsCommand(args: readonly string[], store: ConnectionStore, out: (line: string) => void): Promise<number> {
  const [group, action, idText, ...rest] = args;
  if (group !== 'quarantine' || rest.length > 0) {
    out(CONNECTIONS_USAGE);
    return 64;
  }
  if (action === undefined || action === 'list') {
    const rows = await store.listQuarantined();
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
      const { connectionId } = await store.applyQuarantined(id);
      out(`Applied delivery ${id}: connection ${connectionId} is now the member's connection.`);
    } else {
      await store.dropQuarantined(id);
      out(`Dropped delivery ${id}: kept in the audit trail as dropped, its copy of the key removed.`);
    }
    return 0;
  } catch (error) {
    out(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

function describe(row: QuarantinedDelivery): string {
  const anomalies = row.anomalies.length > 0 ? ` anomalies=${row.anomalies.join(',')}` : '';
  return (
    `#${row.id} ${dateColumn(row.receivedAt).toISOString()} ${row.method} reason=${row.reason ?? '-'} ` +
    `connection_id=${row.connectionId ?? '-'} uid=${row.uid ?? '-'} mydexid=${row.mydexid ?? '-'}${anomalies} request=${row.requestId}`
  );
}
