import { Column, Entity, PrimaryColumn } from 'typeorm';

export type IdempotencyState = 'in_progress' | 'completed';

/** One Idempotency-Key as stored: hashes and an encrypted answer only (see the migration). */
@Entity({ name: 'idempotency_keys' })
export class IdempotencyKey {
  /** SHA-256 (hex) of the scope and the Idempotency-Key. */
  @PrimaryColumn({ name: 'key_hash', type: 'varchar', length: 64 })
  keyHash!: string;

  @Column({ type: 'varchar', length: 64 })
  scope!: string;

  /** HMAC-SHA-256 (hex) of the canonical request body, keyed from the Idempotency-Key and the current data key. */
  @Column({ name: 'request_hash', type: 'varchar', length: 64 })
  requestHash!: string;

  @Column({ type: 'varchar', length: 16 })
  state!: IdempotencyState;

  /**
   * The first answer, sealed under the data key ring bound to the Idempotency-Key (`gcm1.` text, see
   * sealed-text.ts); rows from before the ring hold base64url `iv|tag|ciphertext` and are still read.
   */
  @Column({ type: 'text', nullable: true })
  response!: string | null;

  /** While in progress: after this instant a crashed first attempt no longer blocks the key. */
  @Column({ name: 'locked_until', type: Date })
  lockedUntil!: Date;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;
}
