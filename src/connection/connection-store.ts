import type { DataSource } from 'typeorm';
import { openText, sealText, type Sealer } from '../common/crypto/sealed-text.js';
import { PreparedQuery } from '../persistence/prepared-query.js';
import { SqlEngine, type Statement } from '../persistence/sql-engine.js';
import { insertStatement, selectColumns, type ReadRow } from '../persistence/sql-table.js';
import { deliveryFingerprint, readCallbackDelivery, withoutKey, type ConnectionDelivery, type NotificationDelivery, type RefusedDelivery } from './callback-delivery.js';
import { CONNECTION_EVENTS, CONNECTIONS, eventContext, fieldsContext, sealContext, type Connection, type ConnectionEvent, type ConnectionEventKind, type ConnectionEventStatus } from './connection.entity.js';

/**
 * The connections store without Nest: deciding, applying and auditing callback deliveries. The BFF
 * (ConnectionsService) and the operator command (`npm run connections`) share it, so a quarantined
 * delivery the operator applies is written exactly as the callback would have written it.
 */

/** How a delivery arrived. */
export interface DeliveryContext {
  method: 'POST' | 'PUT';
  contentType: 'form' | 'json';
  requestId: string;
}

/** Why an authenticated delivery was stored but not applied. */
export type QuarantineReason =
  /** The delivery's MydexID (or connection_id) is bound to another uid. */
  | 'uid_changed'
  /** The delivery's uid is bound to another MydexID. */
  | 'mydexid_changed'
  /** The delivery repeats one the member's connection has since moved past (a replay rolling it back). */
  | 'replayed'
  /** The delivery names an older agreement version than the connection has. */
  | 'older_version'
  /** No usable MydexID, or neither a uid nor a connection_id: nothing to apply it to. */
  | 'unidentified';

/**
 * What an applied delivery changed, as the domain event and the webhook report it:
 * `connection.established` for a member who had no connection, else `connection.updated` with the
 * member's connection_id before when the connection moved to another one (null when it stayed).
 * Ids, the method and the version only: never the key or fields.
 */
export type ConnectionChange =
  | { name: 'connection.established'; facts: ConnectionChangeFacts }
  | { name: 'connection.updated'; facts: ConnectionChangeFacts & { previousConnectionId: string | null } };

export type ConnectionChangeFacts = {
  connectionId: string;
  uid: number;
  method: 'POST' | 'PUT';
  version: number;
};

/** What became of a delivery. An applied one says what it changed (and whether the member's connection moved). */
export type DeliveryOutcome =
  | { status: 'applied'; moved: boolean; change: ConnectionChange }
  | { status: 'duplicate' }
  | { status: 'quarantined'; reason: QuarantineReason };

/** How many applied deliveries per connection are remembered for replay detection. */
export const FINGERPRINT_HISTORY = 32;

const C = CONNECTIONS.c;
const E = CONNECTION_EVENTS.c;

/** What decides a delivery, of each row it may touch. */
const BINDING_KEYS = ['connectionId', 'uid', 'mydexidLower', 'version', 'fingerprints', 'supersededAt'] as const;
type BindingRow = ReadRow<Pick<Connection, (typeof BINDING_KEYS)[number]>>;
const BINDING_COLUMNS = selectColumns(CONNECTIONS, BINDING_KEYS);

/** The statements with no values of their own to key by property (their columns from the table maps). */
const SQL = {
  supersede: `UPDATE ${CONNECTIONS.ref} SET ${C.supersededAt} = $1 WHERE ${C.supersededAt} IS NULL AND ${C.connectionId} <> $2 AND (${C.mydexidLower} = $3 OR ${C.uid} = $4)`,
  resolve: `UPDATE ${CONNECTION_EVENTS.ref} SET ${E.status} = $1, ${E.resolvedAt} = $2, ${E.payload} = $3 WHERE ${E.id} = $4 AND ${E.status} = 'quarantined'`,
};

/** A delivery that names a member: it can be applied. */
type IdentifiedDelivery = ConnectionDelivery & { uid: number; mydexid: string; connectionId: string };

function isIdentified(delivery: ConnectionDelivery): delivery is IdentifiedDelivery {
  return delivery.uid !== null && delivery.mydexid !== null && delivery.connectionId !== null;
}

export interface StoreSettings {
  /** MYDEX_CONNECTION_VERSION: the version of a delivery that names none [I]. */
  configuredVersion: number;
  /** MYDEX_CONNECTION_NID. */
  connectionNid: string;
}

/**
 * Where an applied delivery's webhook row comes from (src/webhooks WebhookOutbox.statementFor): a
 * statement written in the delivery's own transaction. Absent (the operator command): no webhook.
 */
export interface WebhookStatements {
  statementFor(event: { type: string; data: Record<string, unknown> }): { statement: Statement; committed: () => void } | null;
}

export class ConnectionStore {
  private readonly engine: SqlEngine;
  /**
   * The rows that decide a delivery, in one indexed read: the row of its connection_id (live or
   * not) and the live rows bound to its MydexID or to its uid.
   */
  private readonly bindings: PreparedQuery<BindingRow>;
  private readonly notifications: PreparedQuery<{ requestId: string; payload: string; receivedAt: unknown }>;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sealer: Sealer,
    private readonly settings: StoreSettings,
    private readonly webhooks?: WebhookStatements,
  ) {
    this.engine = SqlEngine.of(dataSource);
    this.bindings = new PreparedQuery(
      dataSource,
      `SELECT ${BINDING_COLUMNS} FROM ${CONNECTIONS.ref} WHERE ${C.connectionId} = $1 ` +
        `UNION ALL SELECT ${BINDING_COLUMNS} FROM ${CONNECTIONS.ref} WHERE ${C.mydexidLower} = $2 AND ${C.supersededAt} IS NULL ` +
        `UNION ALL SELECT ${BINDING_COLUMNS} FROM ${CONNECTIONS.ref} WHERE ${C.uid} = $3 AND ${C.supersededAt} IS NULL`,
    );
    this.notifications = new PreparedQuery(
      dataSource,
      `SELECT ${selectColumns(CONNECTION_EVENTS, ['requestId', 'payload', 'receivedAt'])} FROM ${CONNECTION_EVENTS.ref} ` +
        `WHERE ${E.kind} = 'notification' AND (${E.connectionId} = $1 OR ${E.uid} = $2) ORDER BY ${E.id} DESC LIMIT $3`,
    );
  }

  /**
   * Stores one connection delivery and applies it unless it must be quarantined. A unique-index
   * conflict (another delivery for the same member committed between our read and our write) is
   * decided again once, against what that one wrote.
   */
  async deliver(delivery: ConnectionDelivery, context: DeliveryContext, now = new Date()): Promise<DeliveryOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.decideAndWrite(delivery, context, now);
      } catch (error) {
        if (attempt >= 2 || !isUniqueViolation(error)) throw error;
      }
    }
  }

  private async decideAndWrite(delivery: ConnectionDelivery, context: DeliveryContext, now: Date): Promise<DeliveryOutcome> {
    if (!isIdentified(delivery)) {
      await this.writeEvent(delivery, context, now, 'quarantined', 'unidentified');
      return { status: 'quarantined', reason: 'unidentified' };
    }
    const mydexidLower = delivery.mydexid.toLowerCase();
    const rows = await this.bindings.all([delivery.connectionId, mydexidLower, delivery.uid]);
    const fingerprint = deliveryFingerprint(delivery);
    const decision = decide(rows, { uid: delivery.uid, mydexidLower, connectionId: delivery.connectionId, fingerprint, version: delivery.version ?? this.settings.configuredVersion });
    if (decision.action === 'quarantine') {
      await this.writeEvent(delivery, context, now, 'quarantined', decision.reason);
      return { status: 'quarantined', reason: decision.reason };
    }
    if (decision.action === 'duplicate') {
      await this.writeEvent(delivery, context, now, 'duplicate', null);
      return { status: 'duplicate' };
    }
    const history = [...decision.history.filter((known) => known !== fingerprint), fingerprint].slice(-FINGERPRINT_HISTORY).join(',');
    const upsert = this.upsertStatement(delivery, context, now, history);
    const event = this.eventStatement(delivery, context, now, 'applied', null);
    const change = changeOf({ connectionId: delivery.connectionId, uid: delivery.uid, method: context.method, version: delivery.version ?? this.settings.configuredVersion }, decision.previous);
    // The integrator's webhook commits with the connection.
    const webhook = this.webhooks?.statementFor({ type: change.name, data: change.facts });
    const written = webhook ? [upsert, webhook.statement, event] : [upsert, event];
    if (decision.moveFrom === null) {
      // The hot path: one combined statement on PostgreSQL, one synchronous transaction on SQLite.
      await this.engine.writeAtomically(written);
    } else {
      // The member's connection moves to another connection_id: in order, so the unique index on the
      // live rows never sees two at once.
      await this.engine.transaction([this.supersedeStatement(delivery, now), ...written]);
    }
    webhook?.committed();
    return { status: 'applied', moved: decision.moveFrom !== null, change };
  }

  /** A notification: stored sealed, applies nothing. */
  async notification(delivery: NotificationDelivery, context: DeliveryContext, now = new Date()): Promise<void> {
    await this.engine.writeAtomically([
      this.rawEvent('notification', context, now, delivery.connectionId, delivery.uid, JSON.stringify(delivery.body), 'received', null, null),
    ]);
  }

  /** A refused delivery: its body (parsed, or the raw bytes) kept sealed for the operator. */
  async refused(delivery: { reason: RefusedDelivery['reason'] | string; body: RefusedDelivery['body'] }, raw: Buffer | undefined, context: DeliveryContext, now = new Date()): Promise<void> {
    const payload = JSON.stringify(delivery.body !== null ? { body: delivery.body } : rawPayload(raw));
    const kind: ConnectionEventKind = delivery.body?.type === 'notification' ? 'notification' : 'connection';
    await this.engine.writeAtomically([this.rawEvent(kind, context, now, null, null, payload, 'refused', delivery.reason, null)]);
  }

  /** The latest notifications for a connection (by its connection_id or uid), newest first, opened. */
  async latestNotifications(connectionId: string, uid: number, limit: number): Promise<{ body: Record<string, unknown>; receivedAt: unknown }[]> {
    const rows = await this.notifications.all([connectionId, uid, limit]);
    return rows.map((row) => ({ body: JSON.parse(openText(this.sealer, row.payload, eventContext(row.requestId))) as Record<string, unknown>, receivedAt: row.receivedAt }));
  }

  /**
   * The operator applies a quarantined delivery (`npm run connections -- quarantine apply <id>`):
   * it becomes the member's connection, whatever it was bound to before (the rows bound to its
   * MydexID or uid are superseded), and the event is marked applied, its copy of the key removed.
   */
  async applyQuarantined(id: number, now = new Date()): Promise<{ connectionId: string }> {
    const event = await this.quarantined(id);
    const delivery = readCallbackDelivery(event.body, this.settings.connectionNid);
    if (delivery.kind !== 'connection' || !isIdentified(delivery)) {
      throw new Error(`Event ${id} cannot be applied: it names no usable MydexID and uid (drop it instead).`);
    }
    const rows = await this.bindings.all([delivery.connectionId, delivery.mydexid.toLowerCase(), delivery.uid]);
    const fingerprint = deliveryFingerprint(delivery);
    const own = rows.find((row) => row.connectionId === delivery.connectionId);
    const history = [...(own?.fingerprints?.split(',') ?? []).filter((known) => known !== fingerprint), fingerprint].slice(-FINGERPRINT_HISTORY).join(',');
    const context: DeliveryContext = { method: event.method === 'PUT' ? 'PUT' : 'POST', contentType: 'form', requestId: event.requestId };
    await this.engine.transaction([
      this.supersedeStatement(delivery, now),
      this.upsertStatement(delivery, context, now, history),
      this.resolveStatement(id, 'applied', now, event.requestId, withoutKey(event.body)),
    ]);
    return { connectionId: delivery.connectionId };
  }

  /** The operator dismisses a quarantined delivery: kept for the audit trail, its copy of the key removed. */
  async dropQuarantined(id: number, now = new Date()): Promise<void> {
    const event = await this.quarantined(id);
    await this.engine.transaction([this.resolveStatement(id, 'dropped', now, event.requestId, withoutKey(event.body))]);
  }

  /** Every quarantined delivery, oldest first, opened (the key is never part of the answer). */
  async listQuarantined(): Promise<QuarantinedDelivery[]> {
    const keys = ['id', 'method', 'connectionId', 'uid', 'requestId', 'payload', 'receivedAt', 'reason', 'anomalies'] as const;
    const rows = await this.engine.all<ReadRow<Pick<ConnectionEvent, (typeof keys)[number]>>>(
      `SELECT ${selectColumns(CONNECTION_EVENTS, keys)} FROM ${CONNECTION_EVENTS.ref} WHERE ${E.status} = 'quarantined' ORDER BY ${E.id}`,
      [],
    );
    return rows.map((row) => {
      const body = JSON.parse(openText(this.sealer, row.payload, eventContext(row.requestId))) as Record<string, unknown>;
      return {
        id: Number(row.id),
        method: row.method,
        connectionId: row.connectionId,
        uid: row.uid === null ? null : Number(row.uid),
        mydexid: typeof body.mydexid === 'string' ? body.mydexid : null,
        reason: row.reason,
        anomalies: row.anomalies ? row.anomalies.split(',') : [],
        receivedAt: row.receivedAt,
        requestId: row.requestId,
      };
    });
  }

  private async quarantined(id: number): Promise<{ body: Record<string, unknown>; method: string; requestId: string }> {
    const keys = ['method', 'requestId', 'payload', 'status'] as const;
    const [row] = await this.engine.all<Pick<ConnectionEvent, (typeof keys)[number]>>(`SELECT ${selectColumns(CONNECTION_EVENTS, keys)} FROM ${CONNECTION_EVENTS.ref} WHERE ${E.id} = $1`, [id]);
    if (!row) throw new Error(`No connection event ${id}.`);
    if (row.status !== 'quarantined') throw new Error(`Event ${id} is ${row.status}, not quarantined.`);
    return { body: JSON.parse(openText(this.sealer, row.payload, eventContext(row.requestId))) as Record<string, unknown>, method: row.method, requestId: row.requestId };
  }

  private async writeEvent(delivery: ConnectionDelivery, context: DeliveryContext, now: Date, status: ConnectionEventStatus, reason: QuarantineReason | null): Promise<void> {
    await this.engine.writeAtomically([this.eventStatement(delivery, context, now, status, reason)]);
  }

  /** The member's connection row; a repeated delivery overwrites all but `created_at` (the first connection's time). */
  private upsertStatement(delivery: IdentifiedDelivery, context: DeliveryContext, now: Date, fingerprints: string): Statement {
    const { connectionId } = delivery;
    const sealed = this.sealer.seal(delivery.key, sealContext(connectionId));
    return insertStatement(
      CONNECTIONS,
      {
        connectionId,
        uid: delivery.uid,
        mydexid: delivery.mydexid,
        mydexidLower: delivery.mydexid.toLowerCase(),
        keyId: sealed.keyId,
        keyIv: sealed.iv,
        keyTag: sealed.tag,
        keyCiphertext: sealed.ciphertext,
        permissionsRaw: sealText(this.sealer, JSON.stringify(delivery.fields), fieldsContext(connectionId)),
        permissions: JSON.stringify(delivery.permissions),
        // The callback does not document a version [I]: without one, the agreement we configured is the one approved.
        version: delivery.version ?? this.settings.configuredVersion,
        linkingToken: delivery.linkingToken,
        lastMethod: context.method,
        createdAt: now,
        updatedAt: now,
        fingerprints,
        supersededAt: null,
      },
      { conflict: 'connectionId', keep: ['createdAt'] },
    );
  }

  private supersedeStatement(delivery: IdentifiedDelivery, now: Date): Statement {
    return [SQL.supersede, [now, delivery.connectionId, delivery.mydexid.toLowerCase(), delivery.uid]];
  }

  /**
   * The event of a connection delivery. Only a quarantined one keeps the key (sealed), so that the
   * operator can still apply it; the others keep the body without it.
   */
  private eventStatement(delivery: ConnectionDelivery, context: DeliveryContext, now: Date, status: ConnectionEventStatus, reason: QuarantineReason | null): Statement {
    const body = status === 'quarantined' ? delivery.body : withoutKey(delivery.body);
    const anomalies = delivery.anomalies.length > 0 ? delivery.anomalies.join(',') : null;
    return this.rawEvent('connection', context, now, delivery.connectionId, delivery.uid, JSON.stringify(body), status, reason, anomalies);
  }

  private rawEvent(
    kind: ConnectionEventKind,
    context: DeliveryContext,
    now: Date,
    connectionId: string | null,
    uid: number | null,
    payload: string,
    status: ConnectionEventStatus,
    reason: string | null,
    anomalies: string | null,
  ): Statement {
    const requestId = context.requestId.slice(0, 128);
    return insertStatement(CONNECTION_EVENTS, {
      kind,
      method: context.method,
      connectionId,
      uid,
      contentType: context.contentType,
      requestId,
      payload: sealText(this.sealer, payload, eventContext(requestId)),
      receivedAt: now,
      status,
      reason,
      anomalies,
    });
  }

  private resolveStatement(id: number, status: 'applied' | 'dropped', now: Date, requestId: string, body: Record<string, unknown>): Statement {
    return [SQL.resolve, [status, now, sealText(this.sealer, JSON.stringify(body), eventContext(requestId)), id]];
  }
}

export interface QuarantinedDelivery {
  id: number;
  method: string;
  connectionId: string | null;
  uid: number | null;
  mydexid: string | null;
  reason: string | null;
  anomalies: string[];
  receivedAt: unknown;
  requestId: string;
}

type Decision =
  | { action: 'apply'; moveFrom: string | null; previous: string | null; history: string[] }
  | { action: 'duplicate' }
  | { action: 'quarantine'; reason: QuarantineReason };

/**
 * The rules (docs/connections.md "Which deliveries are applied"):
 * 1. A MydexID is bound to one uid and a uid to one MydexID (the live rows), and a connection_id to
 *    the member it was first stored for: a delivery that would change any of these is quarantined.
 * 2. A delivery equal to the one the connection reflects is a retry: nothing changes.
 * 3. A delivery equal to an earlier one the connection has moved past is a replay: quarantined.
 * 4. A delivery naming an older agreement version than the connection's is quarantined; otherwise
 *    the later-received delivery wins [I] (Mydex documents no ordering, timestamp or nonce).
 */
function decide(rows: BindingRow[], d: { uid: number; mydexidLower: string; connectionId: string; fingerprint: string; version: number }): Decision {
  const live = rows.filter((row) => row.supersededAt === null);
  const own = rows.find((row) => row.connectionId === d.connectionId);
  if (own && Number(own.uid) !== d.uid) return { action: 'quarantine', reason: 'uid_changed' };
  if (own && own.mydexidLower !== d.mydexidLower) return { action: 'quarantine', reason: 'mydexid_changed' };
  if (live.some((row) => row.mydexidLower === d.mydexidLower && Number(row.uid) !== d.uid)) return { action: 'quarantine', reason: 'uid_changed' };
  if (live.some((row) => Number(row.uid) === d.uid && row.mydexidLower !== d.mydexidLower)) return { action: 'quarantine', reason: 'mydexid_changed' };
  // Every row left belongs to this member: its live row (if any) and this connection_id's row.
  const member = live.find((row) => row.mydexidLower === d.mydexidLower) ?? null;
  const current = member ?? own ?? null;
  const history = [...new Set([...(own?.fingerprints?.split(',') ?? []), ...(member?.fingerprints?.split(',') ?? [])].filter(Boolean))];
  if (current?.fingerprints) {
    const latest = current.fingerprints.split(',').pop();
    if (latest === d.fingerprint) return { action: 'duplicate' };
  }
  if (history.includes(d.fingerprint)) return { action: 'quarantine', reason: 'replayed' };
  if (current && d.version < Number(current.version)) return { action: 'quarantine', reason: 'older_version' };
  const moveFrom = member && member.connectionId !== d.connectionId ? member.connectionId : null;
  return { action: 'apply', moveFrom, previous: member?.connectionId ?? null, history };
}

/** A unique-index conflict on either engine. */
/** `previous`: the member's live connection_id before this delivery (null: none, a new connection). */
function changeOf(facts: ConnectionChangeFacts, previous: string | null): ConnectionChange {
  if (previous === null) return { name: 'connection.established', facts };
  return { name: 'connection.updated', facts: { ...facts, previousConnectionId: previous === facts.connectionId ? null : previous } };
}

function isUniqueViolation(error: unknown): boolean {
  const { code, driverError } = error as { code?: unknown; driverError?: { code?: unknown } };
  const value = code ?? driverError?.code;
  return value === '23505' || value === 'SQLITE_CONSTRAINT_UNIQUE' || value === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

/** The raw bytes of a body that could not be parsed: as text when it is UTF-8, else base64. */
function rawPayload(raw: Buffer | undefined): { raw: string | null; encoding: 'utf8' | 'base64' } {
  if (raw === undefined) return { raw: null, encoding: 'utf8' };
  try {
    return { raw: new TextDecoder('utf-8', { fatal: true }).decode(raw), encoding: 'utf8' };
  } catch {
    return { raw: raw.toString('base64'), encoding: 'base64' };
  }
}
