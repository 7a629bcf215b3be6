import { Column, Entity, PrimaryColumn } from 'typeorm';
import { sqlTable, type ColumnMap } from '../../../persistence/sql-table.js';

/** The `invitations` columns, per property (sql-table.ts): the entity and the hand SQL take their names from here. */
export const INVITATION_COLUMNS = {
  id: 'id',
  tokenHash: 'token_hash',
  emailSealed: 'email_sealed',
  createdAt: 'created_at',
  expiresAt: 'expires_at',
  uses: 'uses',
  usedAt: 'used_at',
  registrationId: 'registration_id',
} as const satisfies ColumnMap<Invitation>;

/** The `invitations` table for hand SQL. */
export const INVITATIONS = sqlTable<Invitation>('invitations', INVITATION_COLUMNS);

/**
 * An invitation to register (the `invitation` strategy): a single-use link for one email address.
 * The link's token is never stored, only its SHA-256; the email is sealed like a registration's.
 */
@Entity({ name: INVITATIONS.name })
export class Invitation {
  @PrimaryColumn({ name: INVITATION_COLUMNS.id, type: 'varchar', length: 36 })
  id!: string;

  /** SHA-256 hex of the link token (session-token.ts): the only way to find the row. */
  @Column({ name: INVITATION_COLUMNS.tokenHash, type: 'varchar', length: 64 })
  tokenHash!: string;

  /** The invited email, sealed with the data key ring (context invitationEmailContext). */
  @Column({ name: INVITATION_COLUMNS.emailSealed, type: 'text' })
  emailSealed!: string;

  @Column({ name: INVITATION_COLUMNS.createdAt, type: Date })
  createdAt!: Date;

  @Column({ name: INVITATION_COLUMNS.expiresAt, type: Date })
  expiresAt!: Date;

  /**
   * 0, or 1 once a registration used it: raised in the transaction that writes the registration's row,
   * and the table's CHECK (uses <= 1) fails a second use's transaction (InvitationsService.spend).
   */
  @Column({ name: INVITATION_COLUMNS.uses, type: 'integer', default: 0 })
  uses!: number;

  /** When a registration used it. */
  @Column({ name: INVITATION_COLUMNS.usedAt, type: Date, nullable: true })
  usedAt!: Date | null;

  @Column({ name: INVITATION_COLUMNS.registrationId, type: 'varchar', length: 36, nullable: true })
  registrationId!: string | null;
}

/** Authenticated data for an invitation's sealed email: it only opens on its own row. */
export function invitationEmailContext(id: string): string {
  return `invitations.email:${id}`;
}
