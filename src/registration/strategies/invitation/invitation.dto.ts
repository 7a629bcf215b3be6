import { ApiProperty } from '@nestjs/swagger';

/** GET /v1/invitations/{token}: what the frontend pre-fills its registration form with. */
export class InvitationDto {
  /** The invited email: pre-fill the form's email field with it (the member may change it). */
  @ApiProperty({ example: 'alice@example.org' })
  email!: string;

  /** After this the link answers `invitation_not_found`. */
  @ApiProperty({ format: 'date-time' })
  expiresAt!: string;
}
