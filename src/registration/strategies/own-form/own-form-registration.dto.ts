import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RegistrationDetailsDto } from '../../../validation/registration-details.dto.js';
import type { RegistrationStatus, RegistrationStrategy } from '../../registration.entity.js';

/** POST /v1/registrations: the member's details from our own form, and where to land afterwards. */
export class CreateRegistrationDto extends RegistrationDetailsDto {
  /**
   * Where the browser lands after the Private Key form: an absolute URL on one of FRONTEND_ORIGINS, or
   * a path on the first of them. Default: the first frontend origin's `/`.
   */
  @ApiPropertyOptional({ example: 'https://app.example.org/welcome', maxLength: 2048 })
  returnTo?: string;
}

export class CreatedRegistrationDto {
  @ApiProperty({ format: 'uuid' })
  registrationId!: string;

  @ApiProperty({ enum: ['awaiting_private_key'] })
  status!: 'awaiting_private_key';

  /** Mydex's Private Key form: send the member's browser here next. */
  @ApiProperty({ format: 'uri', example: 'https://sbx-api.mydex.org/private-key/abc' })
  privateKeyUrl!: string;
}

export class RegistrationStatusDto {
  @ApiProperty({ format: 'uuid' })
  registrationId!: string;

  @ApiProperty({ enum: ['awaiting_private_key', 'completed', 'failed', 'expired'] })
  status!: RegistrationStatus;

  @ApiProperty({ enum: ['oidc', 'own_form'] })
  strategy!: RegistrationStrategy;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  completedAt!: string | null;
}
