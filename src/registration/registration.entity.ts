import { Column, Entity, PrimaryColumn } from 'typeorm';
import type { RegistrationStrategyName } from './registration-strategy.js';

/** The `strategy` column: one of REGISTRATION_STRATEGIES (registration-strategy.ts). */
export type RegistrationStrategy = RegistrationStrategyName;
export type RegistrationStatus = 'awaiting_private_key' | 'completed' | 'failed' | 'expired';
export type RegistrationClient = 'web' | 'native';

/**
 * One registration from either strategy. There is deliberately no password column: the password
 * exists only in memory for the one upstream call.
 */
@Entity({ name: 'registrations' })
export class Registration {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  strategy!: RegistrationStrategy;

  @Column({ type: 'varchar', length: 32 })
  status!: RegistrationStatus;

  @Column({ type: 'varchar', length: 60, nullable: true })
  mydexid!: string | null;

  /**
   * The email, sealed with the data key ring (sealed-text.ts; context registrationEmailContext). Nothing
   * looks a registration up by email, so no hash of it is kept. Rows from before sealing have it in the
   * unmapped plaintext `email` column until `npm run rotate-data-key` seals them.
   */
  @Column({ name: 'email_sealed', type: 'text', nullable: true })
  emailSealed!: string | null;

  /** The member's OIDC subject (oidc strategy). */
  @Column({ type: 'varchar', length: 128, nullable: true })
  sub!: string | null;

  @Column({ name: 'return_to', type: 'text', nullable: true })
  returnTo!: string | null;

  @Column({ name: 'failure_code', type: 'varchar', length: 64, nullable: true })
  failureCode!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'updated_at', type: Date })
  updatedAt!: Date;

  @Column({ name: 'completed_at', type: Date, nullable: true })
  completedAt!: Date | null;

  @Column({ name: 'expires_at', type: Date, nullable: true })
  expiresAt!: Date | null;

  /**
   * SHA-256 hex of the secret that binds an own-form registration to the client that created it (the
   * web cookie's value or the native app's `registrationSecret`); the secret itself is never stored.
   * Null for OIDC registrations and rows from before the binding.
   */
  @Column({ name: 'binding_hash', type: 'varchar', length: 64, nullable: true })
  bindingHash!: string | null;

  /** Which kind of client holds the binding: a cookie (`web`) or the `X-Registration-Secret` header (`native`). */
  @Column({ name: 'binding_client', type: 'varchar', length: 16, nullable: true })
  bindingClient!: RegistrationClient | null;
}

/** Authenticated data for a registration's sealed email: it only opens on its own row. */
export function registrationEmailContext(id: string): string {
  return `registrations.email:${id}`;
}
