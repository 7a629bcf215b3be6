import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { RegistrationDetailsDto } from '../../../validation/registration-details.dto.js';
import type { RegistrationStatus, RegistrationStrategy } from '../../registration.entity.js';
import { REGISTRATION_STRATEGIES } from '../../registration-strategy.js';

/** POST /v1/registrations: the member's details from our own form, and where to land afterwards. */
export class CreateRegistrationDto extends RegistrationDetailsDto {
  /**
   * Where the browser lands after the Private Key form: an absolute URL on one of FRONTEND_ORIGINS, or
   * a path on the first of them. Default: the first frontend origin's `/`.
   */
  @ApiPropertyOptional({ example: 'https://app.example.org/welcome', maxLength: 2048 })
  returnTo?: string;

  /**
   * Who is registering: `web` (default) binds the registration to this browser with an HttpOnly cookie;
   * `native` answers a `registrationSecret` instead, which the app sends back in `X-Registration-Secret`.
   * A native app may also give one of NATIVE_REDIRECT_URIS as `returnTo`.
   */
  @ApiPropertyOptional({ enum: ['web', 'native'], default: 'web' })
  client?: 'web' | 'native';
}

export class CreatedRegistrationDto {
  @ApiProperty({ format: 'uuid' })
  registrationId!: string;

  @ApiProperty({ enum: ['awaiting_private_key'] })
  status!: 'awaiting_private_key';

  /** Mydex's Private Key form: send the member's browser here next. */
  @ApiProperty({ format: 'uri', example: 'https://sbx-api.mydex.org/private-key/abc' })
  privateKeyUrl!: string;

  /**
   * Native clients only, answered once: the secret that binds this registration to the app. Send it as
   * `X-Registration-Secret` to confirm the return (`POST /v1/registrations/{id}/return`) and then, for
   * REGISTRATION_CONNECT_WINDOW_SECONDS, on `POST /v1/connections` and `GET /v1/connections/me`. Keep it
   * like a session token. Web clients get it as an HttpOnly cookie instead, never in the body.
   */
  @ApiPropertyOptional({ example: 'kq3v0bM1g3yP3d9QvQn6m0w7oV3bQm2n0x2V1c8y5aI', pattern: '^[A-Za-z0-9_-]{43}$' })
  registrationSecret?: string;
}

export class RegistrationStatusDto {
  @ApiProperty({ format: 'uuid' })
  registrationId!: string;

  @ApiProperty({ enum: ['awaiting_private_key', 'completed', 'failed', 'expired'] })
  status!: RegistrationStatus;

  @ApiProperty({ enum: REGISTRATION_STRATEGIES })
  strategy!: RegistrationStrategy;

  @ApiProperty({ format: 'date-time' })
  createdAt!: string;

  @ApiProperty({ format: 'date-time' })
  updatedAt!: string;

  @ApiProperty({ format: 'date-time', nullable: true, type: String })
  completedAt!: string | null;
}
