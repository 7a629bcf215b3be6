import { Column, Entity, PrimaryColumn } from 'typeorm';
import { sqlTable, type ColumnMap } from '../persistence/sql-table.js';

export type SessionClient = 'web' | 'native';

/** The `sessions` columns, per property (sql-table.ts): the entity and the hand SQL take their names from here. */
export const SESSION_COLUMNS = {
  id: 'id',
  tokenHash: 'token_hash',
  client: 'client',
  issuer: 'issuer',
  sub: 'sub',
  mydexid: 'mydexid',
  idToken: 'id_token',
  sid: 'sid',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  lastSeenAt: 'last_seen_at',
  revokedAt: 'revoked_at',
} as const satisfies ColumnMap<MemberSession>;

/** The `sessions` table for hand SQL. */
export const SESSIONS = sqlTable<MemberSession>('sessions', SESSION_COLUMNS);

/** A member session. The opaque session id itself is never stored: only its SHA-256 (`tokenHash`). */
@Entity({ name: SESSIONS.name })
export class MemberSession {
  @PrimaryColumn({ name: SESSION_COLUMNS.id, type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: SESSION_COLUMNS.tokenHash, type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column({ name: SESSION_COLUMNS.client, type: 'varchar', length: 16 })
  client!: SessionClient;

  @Column({ name: SESSION_COLUMNS.issuer, type: 'varchar', length: 255 })
  issuer!: string;

  @Column({ name: SESSION_COLUMNS.sub, type: 'varchar', length: 128 })
  sub!: string;

  @Column({ name: SESSION_COLUMNS.mydexid, type: 'varchar', length: 60, nullable: true })
  mydexid!: string | null;

  /** The ID token the member logged in with: the logout `id_token_hint`. */
  @Column({ name: SESSION_COLUMNS.idToken, type: 'text', nullable: true })
  idToken!: string | null;

  /** The `sid` claim of that ID token (Mydex's session), which a back-channel logout token may name. */
  @Column({ name: SESSION_COLUMNS.sid, type: 'varchar', length: 255, nullable: true })
  sid!: string | null;

  @Column({ name: SESSION_COLUMNS.createdAt, type: Date })
  createdAt!: Date;

  @Column({ name: SESSION_COLUMNS.expiresAt, type: Date })
  expiresAt!: Date;

  /** The last request seen, written at most once a minute (the idle timeout slides from it). */
  @Column({ name: SESSION_COLUMNS.lastSeenAt, type: Date, nullable: true })
  lastSeenAt!: Date | null;

  @Column({ name: SESSION_COLUMNS.revokedAt, type: Date, nullable: true })
  revokedAt!: Date | null;
}
