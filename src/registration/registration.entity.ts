import { Column, Entity, PrimaryColumn } from 'typeorm';
import { sqlTable, type ColumnMap } from '../persistence/sql-table.js';
import type { RegistrationStrategyName } from './registration-strategy.js';

/** The `strategy` column: one of REGISTRATION_STRATEGIES (registration-strategy.ts). */
export type RegistrationStrategy = RegistrationStrategyName;
export type RegistrationStatus = 'awaiting_private_key' | 'completed' | 'failed' | 'expired';
export type RegistrationClient = 'web' | 'native';

/** The `registrations` columns, per property (sql-table.ts): the entity and the hand SQL take their names from here. */
export const REGISTRATION_COLUMNS = {
  id: 'id',
  strategy: 'strategy',
  status: 'status',
  mydexid: 'mydexid',
  emailSealed: 'email_sealed',
  sub: 'sub',
  returnTo: 'return_to',
  failureCode: 'failure_code',
  createdAt: 'created_at',
  updatedAt: 'updated_at',
  completedAt: 'completed_at',
  expiresAt: 'expires_at',
  bindingHash: 'binding_hash',
  bindingClient: 'binding_client',
} as const satisfies ColumnMap<Registration>;

/** The `registrations` table for hand SQL. */
export const REGISTRATIONS = sqlTable<Registration>('registrations', REGISTRATION_COLUMNS);

/**
 * One registration from either strategy. There is deliberately no password column: the password
 * exists only in memory for the one upstream call.
 */
@Entity({ name: REGISTRATIONS.name })
export class Registration {
  @PrimaryColumn({ name: REGISTRATION_COLUMNS.id, type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: REGISTRATION_COLUMNS.strategy, type: 'varchar', length: 16 })
  strategy!: RegistrationStrategy;

  @Column({ name: REGISTRATION_COLUMNS.status, type: 'varchar', length: 32 })
  status!: RegistrationStatus;

  @Column({ name: REGISTRATION_COLUMNS.mydexid, type: 'varchar', length: 60, nullable: true })
  mydexid!: string | null;

  /**
   * The email, sealed with the data key ring (sealed-text.ts; context registrationEmailContext). Nothing
   * looks a registration up by email, so no hash of it is kept. Rows from before sealing have it in the
   * unmapped plaintext `email` column until `npm run rotate-data-key` seals them.
   */
  @Column({ name: REGISTRATION_COLUMNS.emailSealed, type: 'text', nullable: true })
  emailSealed!: string | null;

  /** The member's OIDC subject (oidc strategy). */
  @Column({ name: REGISTRATION_COLUMNS.sub, type: 'varchar', length: 128, nullable: true })
  sub!: string | null;

  @Column({ name: REGISTRATION_COLUMNS.returnTo, type: 'text', nullable: true })
  returnTo!: string | null;

  @Column({ name: REGISTRATION_COLUMNS.failureCode, type: 'varchar', length: 64, nullable: true })
  failureCode!: string | null;

  @Column({ name: REGISTRATION_COLUMNS.createdAt, type: Date })
  createdAt!: Date;

  @Column({ name: REGISTRATION_COLUMNS.updatedAt, type: Date })
  updatedAt!: Date;

  @Column({ name: REGISTRATION_COLUMNS.completedAt, type: Date, nullable: true })
  completedAt!: Date | null;

  @Column({ name: REGISTRATION_COLUMNS.expiresAt, type: Date, nullable: true })
  expiresAt!: Date | null;

  /**
   * SHA-256 hex of the secret that binds an own-form registration to the client that created it (the
   * web cookie's value or the native app's `registrationSecret`); the secret itself is never stored.
   * Null for OIDC registrations and rows from before the binding.
   */
  @Column({ name: REGISTRATION_COLUMNS.bindingHash, type: 'varchar', length: 64, nullable: true })
  bindingHash!: string | null;

  /** Which kind of client holds the binding: a cookie (`web`) or the `X-Registration-Secret` header (`native`). */
  @Column({ name: REGISTRATION_COLUMNS.bindingClient, type: 'varchar', length: 16, nullable: true })
  bindingClient!: RegistrationClient | null;
}

/** Authenticated data for a registration's sealed email: it only opens on its own row. */
export function registrationEmailContext(id: string): string {
  return `registrations.email:${id}`;
}
