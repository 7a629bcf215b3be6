import { Column, Entity, PrimaryColumn } from 'typeorm';

export type OidcIntent = 'register' | 'login';
export type OidcClient = 'web' | 'native';

/** One authorization request: single use, 10 minutes. See the migration for what is hashed. */
@Entity({ name: 'oidc_transactions' })
export class OidcTransaction {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ name: 'state_hash', type: 'varchar', length: 64 })
  stateHash!: string;

  @Column({ name: 'nonce_hash', type: 'varchar', length: 64 })
  nonceHash!: string;

  @Column({ name: 'code_verifier', type: 'varchar', length: 128, nullable: true })
  codeVerifier!: string | null;

  @Column({ type: 'varchar', length: 16 })
  intent!: OidcIntent;

  @Column({ type: 'varchar', length: 16 })
  client!: OidcClient;

  @Column({ name: 'return_to', type: 'text', nullable: true })
  returnTo!: string | null;

  @Column({ name: 'app_redirect_uri', type: 'text', nullable: true })
  appRedirectUri!: string | null;

  @Column({ name: 'browser_binding_hash', type: 'varchar', length: 64, nullable: true })
  browserBindingHash!: string | null;

  @Column({ name: 'exchange_secret_hash', type: 'varchar', length: 64, nullable: true })
  exchangeSecretHash!: string | null;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  @Column({ name: 'consumed_at', type: Date, nullable: true })
  consumedAt!: Date | null;

  @Column({ name: 'exchange_code_hash', type: 'varchar', length: 64, nullable: true })
  exchangeCodeHash!: string | null;

  @Column({ name: 'exchange_expires_at', type: Date, nullable: true })
  exchangeExpiresAt!: Date | null;

  @Column({ name: 'exchanged_at', type: Date, nullable: true })
  exchangedAt!: Date | null;

  @Column({ name: 'member_issuer', type: 'varchar', length: 255, nullable: true })
  memberIssuer!: string | null;

  @Column({ name: 'member_sub', type: 'varchar', length: 128, nullable: true })
  memberSub!: string | null;

  @Column({ name: 'member_mydexid', type: 'varchar', length: 60, nullable: true })
  memberMydexid!: string | null;

  @Column({ name: 'id_token', type: 'text', nullable: true })
  idToken!: string | null;
}
