import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One member's connection to our Dedicated Connection, as Mydex's callback delivered it. The member
 * key exists only encrypted (`key_*` columns, see DataEncryption) and `fields` (which may carry
 * values: personal data) only sealed (`permissions_raw`); the normalised permissions hold no values.
 *
 * A member has at most one live row (`superseded_at` null): unique indexes on the live rows'
 * `mydexid_lower` and `uid` bind a MydexID to one uid. A row is superseded when the member's
 * connection moved to another connection_id (or, on upgrade, when it was a duplicate).
 */
@Entity({ name: 'connections' })
export class Connection {
  /** `{uid}-{connection nid}`, as Mydex sends it. */
  @PrimaryColumn({ name: 'connection_id', type: 'varchar', length: 80 })
  connectionId!: string;

  @Column({ type: 'integer' })
  uid!: number;

  @Column({ type: 'varchar', length: 60 })
  mydexid!: string;

  @Column({ name: 'mydexid_lower', type: 'varchar', length: 60 })
  mydexidLower!: string;

  @Column({ name: 'key_id', type: 'varchar', length: 32 })
  keyId!: string;

  @Column({ name: 'key_iv', type: 'varchar', length: 32 })
  keyIv!: string;

  @Column({ name: 'key_tag', type: 'varchar', length: 32 })
  keyTag!: string;

  @Column({ name: 'key_ciphertext', type: 'text' })
  keyCiphertext!: string;

  /** `fields` exactly as received, as JSON sealed with the data key ring (sealed-text.ts; context fieldsContext). */
  @Column({ name: 'permissions_raw', type: 'text' })
  permissionsRaw!: string;

  /** JSON: NormalisedPermissions. */
  @Column({ type: 'text' })
  permissions!: string;

  @Column({ type: 'integer' })
  version!: number;

  @Column({ name: 'linking_token', type: 'varchar', length: 255, nullable: true })
  linkingToken!: string | null;

  /** POST (first time connection) or PUT (re-approval of an updated agreement). */
  @Column({ name: 'last_method', type: 'varchar', length: 8 })
  lastMethod!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;

  /**
   * Fingerprints (see deliveryFingerprint) of the deliveries applied to this row, oldest first,
   * comma-separated, at most FINGERPRINT_HISTORY: the last one is the current state (a repeat of it
   * is a retry), an earlier one is a superseded delivery (a repeat of it is a replay).
   */
  @Column({ type: 'text', nullable: true })
  fingerprints!: string | null;

  /** Set when this row is no longer the member's connection (null: live). */
  @Column({ name: 'superseded_at', type: Date, nullable: true })
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

/**
 * One authenticated delivery to the callback URL (FTC, update, or PDX notification), its body sealed.
 * The member key is in the sealed payload only while the delivery is quarantined (so the operator
 * can still apply it); applied deliveries are stored without it.
 */
@Entity({ name: 'connection_events' })
export class ConnectionEvent {
  @PrimaryGeneratedColumn('increment')
  id!: number;

  @Column({ type: 'varchar', length: 16 })
  kind!: ConnectionEventKind;

  @Column({ type: 'varchar', length: 8 })
  method!: string;

  @Column({ name: 'connection_id', type: 'varchar', length: 80, nullable: true })
  connectionId!: string | null;

  @Column({ type: 'integer', nullable: true })
  uid!: number | null;

  /** `form` or `json`. */
  @Column({ name: 'content_type', type: 'varchar', length: 8 })
  contentType!: string;

  @Column({ name: 'request_id', type: 'varchar', length: 128 })
  requestId!: string;

  /** The delivery as JSON, sealed (sealed-text.ts; context eventContext(request_id)). */
  @Column({ type: 'text' })
  payload!: string;

  @Column({ name: 'received_at', type: Date })
  receivedAt!: Date;

  @Column({ type: 'varchar', length: 16, default: 'applied' })
  status!: ConnectionEventStatus;

  /** Why it was quarantined or refused (a code, never data). */
  @Column({ type: 'varchar', length: 32, nullable: true })
  reason!: string | null;

  /** Comma list of the format surprises the delivery carried (codes only, never values). */
  @Column({ type: 'varchar', length: 512, nullable: true })
  anomalies!: string | null;

  /** When the operator applied or dropped a quarantined delivery. */
  @Column({ name: 'resolved_at', type: Date, nullable: true })
  resolvedAt!: Date | null;
}
