import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * An invitation to register (the `invitation` strategy): a single-use link for one email address.
 * The link's token is never stored, only its SHA-256; the email is sealed like a registration's.
 */
@Entity({ name: 'invitations' })
export class Invitation {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  /** SHA-256 hex of the link token (session-token.ts): the only way to find the row. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64 })
  tokenHash!: string;

  /** The invited email, sealed with the data key ring (context invitationEmailContext). */
  @Column({ name: 'email_sealed', type: 'text' })
  emailSealed!: string;

  @Column({ name: 'created_at', type: Date })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: Date })
  expiresAt!: Date;

  /**
   * 0, or 1 once a registration used it: raised in the transaction that writes the registration's row,
   * and the table's CHECK (uses <= 1) fails a second use's transaction (InvitationsService.spend).
   */
  @Column({ type: 'integer', default: 0 })
  uses!: number;

  /** When a registration used it. */
  @Column({ name: 'used_at', type: Date, nullable: true })
  usedAt!: Date | null;

  @Column({ name: 'registration_id', type: 'varchar', length: 36, nullable: true })
  registrationId!: string | null;
}

/** Authenticated data for an invitation's sealed email: it only opens on its own row. */
export function invitationEmailContext(id: string): string {
  return `invitations.email:${id}`;
}
