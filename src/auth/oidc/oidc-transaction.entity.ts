import { Column, Entity, PrimaryColumn } from 'typeorm';
import { sqlTable, type ColumnMap } from '../../persistence/sql-table.js';

export type OidcIntent = 'register' | 'login';
export type OidcClient = 'web' | 'native';

/** The `oidc_transactions` columns, per property (sql-table.ts): the entity and the hand SQL take their names from here. */
export const OIDC_TRANSACTION_COLUMNS = {
  id: 'id',
  stateHash: 'state_hash',
  nonceHash: 'nonce_hash',
  codeVerifier: 'code_verifier',
  intent: 'intent',
  client: 'client',
  returnTo: 'return_to',
  appRedirectUri: 'app_redirect_uri',
  browserBindingHash: 'browser_binding_hash',
  exchangeSecretHash: 'exchange_secret_hash',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  consumedAt: 'consumed_at',
  exchangeCodeHash: 'exchange_code_hash',
  exchangeExpiresAt: 'exchange_expires_at',
  exchangedAt: 'exchanged_at',
  memberIssuer: 'member_issuer',
  memberSub: 'member_sub',
  memberMydexid: 'member_mydexid',
  idToken: 'id_token',
} as const satisfies ColumnMap<OidcTransaction>;

/** The `oidc_transactions` table for hand SQL. */
export const OIDC_TRANSACTIONS = sqlTable<OidcTransaction>('oidc_transactions', OIDC_TRANSACTION_COLUMNS);

/** One authorization request: single use, 10 minutes. See the migration for what is hashed. */
@Entity({ name: OIDC_TRANSACTIONS.name })
export class OidcTransaction {
  @PrimaryColumn({ name: OIDC_TRANSACTION_COLUMNS.id, type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.stateHash, type: 'varchar', length: 64 })
  stateHash!: string;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.nonceHash, type: 'varchar', length: 64 })
  nonceHash!: string;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.codeVerifier, type: 'varchar', length: 128, nullable: true })
  codeVerifier!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.intent, type: 'varchar', length: 16 })
  intent!: OidcIntent;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.client, type: 'varchar', length: 16 })
  client!: OidcClient;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.returnTo, type: 'text', nullable: true })
  returnTo!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.appRedirectUri, type: 'text', nullable: true })
  appRedirectUri!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.browserBindingHash, type: 'varchar', length: 64, nullable: true })
  browserBindingHash!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.exchangeSecretHash, type: 'varchar', length: 64, nullable: true })
  exchangeSecretHash!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.createdAt, type: Date })
  createdAt!: Date;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.expiresAt, type: Date })
  expiresAt!: Date;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.consumedAt, type: Date, nullable: true })
  consumedAt!: Date | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.exchangeCodeHash, type: 'varchar', length: 64, nullable: true })
  exchangeCodeHash!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.exchangeExpiresAt, type: Date, nullable: true })
  exchangeExpiresAt!: Date | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.exchangedAt, type: Date, nullable: true })
  exchangedAt!: Date | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.memberIssuer, type: 'varchar', length: 255, nullable: true })
  memberIssuer!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.memberSub, type: 'varchar', length: 128, nullable: true })
  memberSub!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.memberMydexid, type: 'varchar', length: 60, nullable: true })
  memberMydexid!: string | null;

  @Column({ name: OIDC_TRANSACTION_COLUMNS.idToken, type: 'text', nullable: true })
  idToken!: string | null;
}
