import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';
import { sqlTable, type ColumnMap } from '../persistence/sql-table.js';

/** The `connections` columns, per property (sql-table.ts): the entity and the hand SQL take their names from here. */
export const CONNECTION_COLUMNS = {
  connectionId: 'connection_id',
  uid: 'uid',
  mydexid: 'mydexid',
  mydexidLower: 'mydexid_lower',
  keyId: 'key_id',
  keyIv: 'key_iv',
  keyTag: 'key_tag',
  keyCiphertext: 'key_ciphertext',
  permissionsRaw: 'permissions_raw',
  permissions: 'permissions',
  version: 'version',
  linkingToken: 'linking_token',
  lastMethod: 'last_method',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  fingerprints: 'fingerprints',
  supersededAt: 'superseded_at',
} as const satisfies ColumnMap<Connection>;

/** The `connections` table for hand SQL. */
export const CONNECTIONS = sqlTable<Connection>('connections', CONNECTION_COLUMNS);

/**
 * One member's connection to our Dedicated Connection, as Mydex's callback delivered it. The member
 * key exists only encrypted (`key_*` columns, see DataEncryption) and `fields` (which may carry
 * values: personal data) only sealed (`permissions_raw`); the normalised permissions hold no values.
 *
 * A member has at most one live row (`superseded_at` null): unique indexes on the live rows'
 * `mydexid_lower` and `uid` bind a MydexID to one uid. A row is superseded when the member's
 * connection moved to another connection_id (or, on upgrade, when it was a duplicate).
 */
@Entity({ name: CONNECTIONS.name })
export class Connection {
  /** `{uid}-{connection nid}`, as Mydex sends it. */
  @PrimaryColumn({ name: CONNECTION_COLUMNS.connectionId, type: 'varchar', length: 80 })
  connectionId!: string;

  @Column({ name: CONNECTION_COLUMNS.uid, type: 'integer' })
  uid!: number;

  @Column({ name: CONNECTION_COLUMNS.mydexid, type: 'varchar', length: 60 })
  mydexid!: string;

  @Column({ name: CONNECTION_COLUMNS.mydexidLower, type: 'varchar', length: 60 })
  mydexidLower!: string;

  @Column({ name: CONNECTION_COLUMNS.keyId, type: 'varchar', length: 32 })
  keyId!: string;

  @Column({ name: CONNECTION_COLUMNS.keyIv, type: 'varchar', length: 32 })
  keyIv!: string;

  @Column({ name: CONNECTION_COLUMNS.keyTag, type: 'varchar', length: 32 })
  keyTag!: string;

  @Column({ name: CONNECTION_COLUMNS.keyCiphertext, type: 'text' })
  keyCiphertext!: string;

  /** `fields` exactly as received, as JSON sealed with the data key ring (sealed-text.ts; context fieldsContext). */
  @Column({ name: CONNECTION_COLUMNS.permissionsRaw, type: 'text' })
  permissionsRaw!: string;

  /** JSON: NormalisedPermissions. */
  @Column({ name: CONNECTION_COLUMNS.permissions, type: 'text' })
  permissions!: string;

  @Column({ name: CONNECTION_COLUMNS.version, type: 'integer' })
  version!: number;

  @Column({ name: CONNECTION_COLUMNS.linkingToken, type: 'varchar', length: 255, nullable: true })
  linkingToken!: string | null;

  /** POST (first time connection) or PUT (re-approval of an updated agreement). */
  @Column({ name: CONNECTION_COLUMNS.lastMethod, type: 'varchar', length: 8 })
  lastMethod!: string;

  @Column({ name: CONNECTION_COLUMNS.createdAt, type: Date })
  createdAt!: Date;

  @Column({ name: CONNECTION_COLUMNS.updatedAt, type: Date })
  updatedAt!: Date;

  /**
   * Fingerprints (see deliveryFingerprint) of the deliveries applied to this row, oldest first,
   * comma-separated, at most FINGERPRINT_HISTORY: the last one is the current state (a repeat of it
   * is a retry), an earlier one is a superseded delivery (a repeat of it is a replay).
   */
  @Column({ name: CONNECTION_COLUMNS.fingerprints, type: 'text', nullable: true })
  fingerprints!: string | null;

  /** Set when this row is no longer the member's connection (null: live). */
  @Column({ name: CONNECTION_COLUMNS.supersededAt, type: Date, nullable: true })
  supersededAt!: Date | null;
}

/** Authenticated data for the key's encryption: the ciphertext only opens on its own row. */
export function sealContext(connectionId: string): string {
  return `connections.key:${connectionId}`;
}

/** Authenticated data for the sealed `fields` (permissions_raw) of a row. */
export function fieldsContext(connectionId: string): string {
  return `connections.fields:${connectionId}`;
}

/** Authenticated data for a sealed connection_events payload: bound to the request that delivered it. */
export function eventContext(requestId: string): string {
  return `connection_events.payload:${requestId}`;
}

export type ConnectionEventKind = 'connection' | 'notification';

/**
 * What became of a delivery: `applied` to the member's connection; `duplicate` (an exact repeat of
 * the delivery the connection already reflects: a retry, nothing changed); `quarantined` (stored,
 * not applied: see QuarantineReason); `refused` (answered 4xx: unparseable or without a key; the raw
 * body kept); `received` (a notification); `dropped` (a quarantined delivery the operator dismissed).
 */
export type ConnectionEventStatus = 'applied' | 'duplicate' | 'quarantined' | 'refused' | 'received' | 'dropped';

/** The `connection_events` columns, per property (sql-table.ts): the entity and the hand SQL take their names from here. */
export const CONNECTION_EVENT_COLUMNS = {
  id: 'id',
  kind: 'kind',
  method: 'method',
  connectionId: 'connection_id',
  uid: 'uid',
  contentType: 'content_type',
  requestId: 'request_id',
  payload: 'payload',
  receivedAt: 'received_at',
  status: 'status',
  reason: 'reason',
  anomalies: 'anomalies',
  resolvedAt: 'resolved_at',
} as const satisfies ColumnMap<ConnectionEvent>;

/** The `connection_events` table for hand SQL. */
export const CONNECTION_EVENTS = sqlTable<ConnectionEvent>('connection_events', CONNECTION_EVENT_COLUMNS);

/**
 * One authenticated delivery to the callback URL (FTC, update, or PDX notification), its body sealed.
 * The member key is in the sealed payload only while the delivery is quarantined (so the operator
 * can still apply it); applied deliveries are stored without it.
 */
@Entity({ name: CONNECTION_EVENTS.name })
export class ConnectionEvent {
  @PrimaryGeneratedColumn('increment', { name: CONNECTION_EVENT_COLUMNS.id })
  id!: number;

  @Column({ name: CONNECTION_EVENT_COLUMNS.kind, type: 'varchar', length: 16 })
  kind!: ConnectionEventKind;

  @Column({ name: CONNECTION_EVENT_COLUMNS.method, type: 'varchar', length: 8 })
  method!: string;

  @Column({ name: CONNECTION_EVENT_COLUMNS.connectionId, type: 'varchar', length: 80, nullable: true })
  connectionId!: string | null;

  @Column({ name: CONNECTION_EVENT_COLUMNS.uid, type: 'integer', nullable: true })
  uid!: number | null;

  /** `form` or `json`. */
  @Column({ name: CONNECTION_EVENT_COLUMNS.contentType, type: 'varchar', length: 8 })
  contentType!: string;

  @Column({ name: CONNECTION_EVENT_COLUMNS.requestId, type: 'varchar', length: 128 })
  requestId!: string;

  /** The delivery as JSON, sealed (sealed-text.ts; context eventContext(request_id)). */
  @Column({ name: CONNECTION_EVENT_COLUMNS.payload, type: 'text' })
  payload!: string;

  @Column({ name: CONNECTION_EVENT_COLUMNS.receivedAt, type: Date })
  receivedAt!: Date;

  @Column({ name: CONNECTION_EVENT_COLUMNS.status, type: 'varchar', length: 16, default: 'applied' })
  status!: ConnectionEventStatus;

  /** Why it was quarantined or refused (a code, never data). */
  @Column({ name: CONNECTION_EVENT_COLUMNS.reason, type: 'varchar', length: 32, nullable: true })
  reason!: string | null;

  /** Comma list of the format surprises the delivery carried (codes only, never values). */
  @Column({ name: CONNECTION_EVENT_COLUMNS.anomalies, type: 'varchar', length: 512, nullable: true })
  anomalies!: string | null;

  /** When the operator applied or dropped a quarantined delivery. */
  @Column({ name: CONNECTION_EVENT_COLUMNS.resolvedAt, type: Date, nullable: true })
  resolvedAt!: Date | null;
}
