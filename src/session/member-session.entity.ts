import { Column, Entity, PrimaryColumn } from 'typeorm';

export type SessionClient = 'web' | 'native';

/** A member session. The opaque session id itself is never stored: only its SHA-256 (`tokenHash`). */
@Entity({ name: 'sessions' })
export class MemberSession {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  @Column({ type: 'varchar', length: 16 })
  client!: SessionClient;

  @Column({ type: 'varchar', length: 255 })
  issuer!: string;

  @Column({ type: 'varchar', length: 128 })
  sub!: string;

  @Column({ type: 'varchar', length: 60, nullable: true })
  mydexid!: string | null;

  /** The ID token the member logged in with: the logout `id_token_hint`. */
  @Column({ name: 'id_token', type: 'text', nullable: true })
  idToken!: string | null;

  /** The `sid` claim of that ID token (Mydex's session), which a back-channel logout token may name. */
  @Column({ type: 'varchar', length: 255, nullable: true })
  sid!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  /** The last request seen, written at most once a minute (the idle timeout slides from it). */
  @Column({ name: 'last_seen_at', type: Date, nullable: true })
  lastSeenAt!: Date | null;

  @Column({ name: 'revoked_at', type: Date, nullable: true })
  revokedAt!: Date | null;
}
