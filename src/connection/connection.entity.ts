import { Column, Entity, PrimaryColumn, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One member's connection to our Dedicated Connection, as Mydex's callback delivered it. The member
 * key exists only encrypted (`key_*` columns, see DataEncryption); nothing else here is secret.
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

  /** JSON: `fields` exactly as received. */
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
}

/** Authenticated data for the key's encryption: the ciphertext only opens on its own row. */
export function sealContext(connectionId: string): string {
  return `connections.key:${connectionId}`;
}

export type ConnectionEventKind = 'connection' | 'notification';

/** One delivery to the callback URL (FTC, update, or PDX notification), without the member key. */
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

  /** JSON of the delivery with the member key removed. */
  @Column({ type: 'text' })
  payload!: string;

  @Column({ name: 'received_at', type: Date })
  receivedAt!: Date;
}
