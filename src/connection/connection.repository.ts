import { IsNull, LessThan, type DataSource, type Repository } from 'typeorm';
import { openText, sealText, type Sealer } from '../common/crypto/sealed-text.js';
import { PreparedQuery } from '../persistence/prepared-query.js';
import { SqlEngine, type Statement } from '../persistence/sql-engine.js';
import { insertStatement, selectColumns, type ReadRow } from '../persistence/sql-table.js';
import { withoutKey, type ConnectionDelivery, type NotificationDelivery, type RefusedDelivery } from './callback-delivery.js';
import { BINDING_KEYS, type BindingRow, type DeliveryContext, type IdentifiedDelivery, type QuarantineReason } from './connection-rules.js';
import {
  Connection,
  CONNECTION_EVENTS,
  ConnectionEvent,
  CONNECTIONS,
  eventContext,
  fieldsContext,
  sealContext,
  type ConnectionEventKind,
  type ConnectionEventStatus,
} from './connection.entity.js';

const C = CONNECTIONS.c;
const E = CONNECTION_EVENTS.c;
const BINDING_COLUMNS = selectColumns(CONNECTIONS, BINDING_KEYS);

/** The statements with no values of their own to key by property (their columns from the table maps). */
const SQL = {
  supersede: `UPDATE ${CONNECTIONS.ref} SET ${C.supersededAt} = $1 WHERE ${C.supersededAt} IS NULL AND ${C.connectionId} <> $2 AND (${C.mydexidLower} = $3 OR ${C.uid} = $4)`,
  resolve: `UPDATE ${CONNECTION_EVENTS.ref} SET ${E.status} = $1, ${E.resolvedAt} = $2, ${E.payload} = $3 WHERE ${E.id} = $4 AND ${E.status} = 'quarantined'`,
};

/** At most this many old events are deleted per statement by deleteEventsBefore. */
const PURGE_BATCH = 500;

/** An applied delivery's row as ConnectionsService decided it. */
export interface AppliedDelivery {
  delivery: IdentifiedDelivery;
  context: DeliveryContext;
  now: Date;
  /** The connection's fingerprints once this delivery is applied (withFingerprint). */
  fingerprints: string;
  /** The agreement version it approves (approvedVersion). */
  version: number;
}

/** A quarantined event as the operator's apply or drop reads it: its body opened, with the key. */
export interface QuarantinedEvent {
  id: number;
  body: Record<string, unknown>;
  method: string;
  requestId: string;
}

/** A quarantined delivery, opened (the key is never part of it). */
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

/**
 * The `connections` and `connection_events` tables: every read and write of them, their values
 * sealed at rest (the member key, `fields`, the callback bodies), without Nest so the operator command
 * writes exactly as the callback does. Which delivery is applied, quarantined or a duplicate is not
 * decided here (ConnectionsService, connection-rules.ts). The callback's writes are hand SQL on the
 * hot path: an applied delivery is one statement on PostgreSQL and one synchronous transaction on
 * SQLite (SqlEngine.writeAtomically).
 */
export class ConnectionRepository {
  private readonly sql: SqlEngine;
  private readonly connections: Repository<Connection>;
  private readonly events: Repository<ConnectionEvent>;
  /**
   * The rows that decide a delivery, in one indexed read: the row of its connection_id (live or
   * not) and the live rows bound to its MydexID or to its uid.
   */
  private readonly bindingRows: PreparedQuery<BindingRow>;
  private readonly notifications: PreparedQuery<{ requestId: string; payload: string; receivedAt: unknown }>;
  /** `GET /v1/session` asks this on every call, so it is a prepared statement rather than a TypeORM find. */
  private readonly connectedByMydexid: PreparedQuery<{ found: number }>;

  constructor(
    dataSource: DataSource,
    private readonly sealer: Sealer,
  ) {
    this.sql = SqlEngine.of(dataSource);
    this.connections = dataSource.getRepository(Connection);
    this.events = dataSource.getRepository(ConnectionEvent);
    this.bindingRows = new PreparedQuery(
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
    this.connectedByMydexid = new PreparedQuery(
      dataSource,
      `SELECT 1 AS "found" FROM ${CONNECTIONS.ref} WHERE ${C.mydexidLower} = $1 AND ${C.supersededAt} IS NULL LIMIT 1`,
    );
  }

  /** The rows a delivery for this member may touch (see decide in connection-rules.ts). */
  bindings(member: { connectionId: string; mydexid: string; uid: number }): Promise<BindingRow[]> {
    return this.bindingRows.all([member.connectionId, member.mydexid.toLowerCase(), member.uid]);
  }

  /**
   * Writes an applied delivery and its event, with `alongside` (the webhook row) between them, all or
   * nothing. When the member's connection moves to another connection_id (`moves`), the previous rows
   * are superseded first, in order, so the unique index on the live rows never sees two at once;
   * otherwise (the hot path) one combined statement on PostgreSQL, one synchronous transaction on SQLite.
   */
  async writeApplied(applied: AppliedDelivery, moves: boolean, alongside: Statement[]): Promise<void> {
    const { delivery, context, now } = applied;
    const written = [this.upsertStatement(applied), ...alongside, this.eventStatement(delivery, context, now, 'applied', null)];
    if (moves) await this.sql.transaction([this.supersedeStatement(delivery, now), ...written]);
    else await this.sql.writeAtomically(written);
  }

  /** The event of a connection delivery that changed nothing (quarantined, duplicate), with `alongside` (its webhook row) atomically. */
  async writeEvent(
    delivery: ConnectionDelivery,
    context: DeliveryContext,
    now: Date,
    status: ConnectionEventStatus,
    reason: QuarantineReason | null,
    alongside: Statement[] = [],
  ): Promise<void> {
    await this.sql.writeAtomically([...alongside, this.eventStatement(delivery, context, now, status, reason)]);
  }

  /** A notification: stored sealed, applies nothing; `alongside` (its webhook row) atomically. */
  async writeNotification(delivery: NotificationDelivery, context: DeliveryContext, now: Date, alongside: Statement[]): Promise<void> {
    await this.sql.writeAtomically([
      ...alongside,
      this.rawEvent(
        'notification',
        context,
        now,
        delivery.connectionId,
        delivery.uid,
        JSON.stringify(delivery.body),
        'received',
        null,
        null,
      ),
    ]);
  }

  /** A refused delivery: its body (parsed, or the raw bytes) kept sealed for the operator. */
  async writeRefused(
    delivery: { reason: RefusedDelivery['reason'] | string; body: RefusedDelivery['body'] },
    raw: Buffer | undefined,
    context: DeliveryContext,
    now: Date,
  ): Promise<void> {
    const payload = JSON.stringify(delivery.body !== null ? { body: delivery.body } : rawPayload(raw));
    const kind: ConnectionEventKind = delivery.body?.type === 'notification' ? 'notification' : 'connection';
    await this.sql.writeAtomically([this.rawEvent(kind, context, now, null, null, payload, 'refused', delivery.reason, null)]);
  }

  /** The latest notifications for a connection (by its connection_id or uid), newest first, opened. */
  async latestNotifications(
    connectionId: string,
    uid: number,
    limit: number,
  ): Promise<{ body: Record<string, unknown>; receivedAt: unknown }[]> {
    const rows = await this.notifications.all([connectionId, uid, limit]);
    return rows.map((row) => ({
      body: JSON.parse(openText(this.sealer, row.payload, eventContext(row.requestId))) as Record<string, unknown>,
      receivedAt: row.receivedAt,
    }));
  }

  /** Every quarantined delivery, oldest first, opened (the key is never part of the answer). */
  async listQuarantined(): Promise<QuarantinedDelivery[]> {
    const keys = ['id', 'method', 'connectionId', 'uid', 'requestId', 'payload', 'receivedAt', 'reason', 'anomalies'] as const;
    const rows = await this.sql.all<ReadRow<Pick<ConnectionEvent, (typeof keys)[number]>>>(
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

  /** A quarantined event, its body opened (with the key, which only a quarantined event keeps). Throws for an unknown or resolved one. */
  async quarantined(id: number): Promise<QuarantinedEvent> {
    const keys = ['method', 'requestId', 'payload', 'status'] as const;
    const [row] = await this.sql.all<Pick<ConnectionEvent, (typeof keys)[number]>>(
      `SELECT ${selectColumns(CONNECTION_EVENTS, keys)} FROM ${CONNECTION_EVENTS.ref} WHERE ${E.id} = $1`,
      [id],
    );
    if (!row) throw new Error(`No connection event ${id}.`);
    if (row.status !== 'quarantined') throw new Error(`Event ${id} is ${row.status}, not quarantined.`);
    return {
      id,
      body: JSON.parse(openText(this.sealer, row.payload, eventContext(row.requestId))) as Record<string, unknown>,
      method: row.method,
      requestId: row.requestId,
    };
  }

  /**
   * The operator's apply: the delivery becomes the member's connection, the rows bound to its MydexID
   * or uid superseded, and the quarantined event marked applied with its copy of the key removed, in
   * one transaction.
   */
  async applyQuarantined(event: QuarantinedEvent, applied: AppliedDelivery): Promise<void> {
    const { delivery, now } = applied;
    await this.sql.transaction([
      this.supersedeStatement(delivery, now),
      this.upsertStatement(applied),
      this.resolveStatement(event, 'applied', now),
    ]);
  }

  /** The operator's drop: kept for the audit trail, its copy of the key removed. */
  async dropQuarantined(event: QuarantinedEvent, now: Date): Promise<void> {
    await this.sql.transaction([this.resolveStatement(event, 'dropped', now)]);
  }

  /** Whether the MydexID (lower case) has a live connection. */
  async isConnected(mydexidLower: string): Promise<boolean> {
    return (await this.connectedByMydexid.first([mydexidLower])) !== undefined;
  }

  /**
   * The same check as SQL, for another table's statement to read as one column (the session lookup):
   * `mydexidColumn` is that table's MydexID column. SQL lower() folds ASCII letters as toLowerCase()
   * does, and a MydexID is ASCII letters and digits.
   */
  connectedSql(mydexidColumn: string): string {
    return `EXISTS (SELECT 1 FROM ${CONNECTIONS.ref} WHERE ${C.mydexidLower} = lower(${mydexidColumn}) AND ${C.supersededAt} IS NULL)`;
  }

  /** The live row of a MydexID (lower case); a superseded row is never answered. */
  findLive(mydexidLower: string): Promise<Connection | null> {
    return this.connections.findOne({ where: { mydexidLower, supersededAt: IsNull() } });
  }

  /** The latest row whose callback echoed this linking token. */
  findByLinkingToken(linkingToken: string): Promise<Connection | null> {
    return this.connections.findOne({ where: { linkingToken }, order: { updatedAt: 'DESC' } });
  }

  /** The decrypted member key of a connection_id, or null. Never log or answer it. */
  async memberKey(connectionId: string): Promise<string | null> {
    const row = await this.connections.findOneBy({ connectionId });
    if (!row) return null;
    return this.sealer.open(
      { keyId: row.keyId, iv: row.keyIv, tag: row.keyTag, ciphertext: row.keyCiphertext },
      sealContext(row.connectionId),
    );
  }

  /**
   * Deletes connection_events received before `cutoff`, in batches (by the received_at index), yielding
   * between them: the first purge after an upgrade may meet years of events, and on SQLite every
   * statement holds the process.
   */
  async deleteEventsBefore(cutoff: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const batch = await this.events.find({
        select: { id: true },
        where: { receivedAt: LessThan(cutoff) },
        order: { receivedAt: 'ASC' },
        take: PURGE_BATCH,
      });
      if (batch.length === 0) return deleted;
      await this.events.delete(batch.map((event) => event.id));
      deleted += batch.length;
      if (batch.length < PURGE_BATCH) return deleted;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** The member's connection row; a repeated delivery overwrites all but `created_at` (the first connection's time). */
  private upsertStatement({ delivery, context, now, fingerprints, version }: AppliedDelivery): Statement {
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
        version,
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
  private eventStatement(
    delivery: ConnectionDelivery,
    context: DeliveryContext,
    now: Date,
    status: ConnectionEventStatus,
    reason: QuarantineReason | null,
  ): Statement {
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

  /** Marks a quarantined event resolved, its body kept without the key. */
  private resolveStatement(event: QuarantinedEvent, status: 'applied' | 'dropped', now: Date): Statement {
    return [
      SQL.resolve,
      [status, now, sealText(this.sealer, JSON.stringify(withoutKey(event.body)), eventContext(event.requestId)), event.id],
    ];
  }
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
