import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A back-channel logout token already used: SHA-256 of its issuer and `jti`, kept until it expires. */
@Entity({ name: 'logout_token_jtis' })
export class LogoutTokenJti {
  @PrimaryColumn({ name: 'jti_hash', type: 'varchar', length: 64 })
  jtiHash!: string;

  @Column({ name: 'received_at', type: Date })
  receivedAt!: Date;

  /** After this the token is refused by its own `exp`/`iat`, so the row is no longer needed. */
  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;
}
