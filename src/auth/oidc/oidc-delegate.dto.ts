import { ApiProperty } from '@nestjs/swagger';
import { IsIn, IsString, MaxLength } from 'class-validator';
import { OptionalField } from '../../common/http/optional-field.js';
import { EMAIL_MAX, EMAIL_PATTERN } from '../../validation/rule-catalogue.js';
import { EmailAddress, Trim } from '../../validation/rule-constraints.js';
import type { OidcClient, OidcIntent } from './oidc-transaction.entity.js';

/** Start delegated registration (`intent: register`) or login at Mydex. */
export class AuthorizeDto {
  @ApiProperty({ enum: ['register', 'login'] })
  @IsIn(['register', 'login'], { context: { code: 'intent_invalid' } })
  intent!: OidcIntent;

  /**
   * Pre-fills Mydex's registration form (intent `register` only; ignored for login). Trimmed, as Mydex
   * does, and checked with the own form's email rule (`email_invalid`, GET /v1/validation/rules): only
   * what cannot be an address is refused; Mydex judges the rest.
   */
  @ApiProperty({ required: false, maxLength: EMAIL_MAX, pattern: EMAIL_PATTERN })
  @OptionalField()
  @Trim()
  @IsString()
  @EmailAddress()
  email?: string;

  /** Web: where the browser lands afterwards; must be on a FRONTEND_ORIGINS origin. Default: the first origin. */
  @OptionalField()
  @IsString()
  returnTo?: string;

  /** `web` (cookie session, the default) or `native` (one-time code and bearer token). */
  @ApiProperty({ enum: ['web', 'native'], required: false, default: 'web' })
  @OptionalField()
  @IsIn(['web', 'native'], { context: { code: 'client_invalid' } })
  client?: OidcClient;

  /** Native: the app's redirect URI, exactly one of NATIVE_REDIRECT_URIS. */
  @OptionalField()
  @IsString()
  appRedirectUri?: string;
}

export class AuthorizeResponseDto {
  /** Send the browser here (Mydex's authorization endpoint with state, nonce and PKCE). */
  authorizationUrl!: string;

  /** Our id for this authorization request. */
  transactionId!: string;

  /** Native only: keep it in the app; it is needed with the code to get a session token. */
  exchangeSecret?: string;
}

/** Native: trade the one-time code (from the app redirect) and the exchange secret for a session. */
export class SessionExchangeDto {
  @IsString({ context: { code: 'required' } })
  @MaxLength(128)
  code!: string;

  @IsString({ context: { code: 'required' } })
  @MaxLength(128)
  exchangeSecret!: string;
}

export class ExchangedMemberDto {
  sub!: string;

  @ApiProperty({ type: String, nullable: true })
  mydexid!: string | null;
}

export class SessionExchangeResponseDto {
  /** Bearer token for `Authorization: Bearer …`. */
  sessionToken!: string;

  /** ISO 8601. */
  expiresAt!: string;

  member!: ExchangedMemberDto;
}

export class LogoutDto {
  /**
   * Where Mydex sends the browser after its logout: a FRONTEND_ORIGINS address (web) or one of
   * NATIVE_REDIRECT_URIS (native). Default (web): the first frontend origin.
   */
  @OptionalField()
  @IsString()
  postLogoutRedirectUri?: string;
}

export class LogoutResponseDto {
  /** Mydex's end-session URL with `id_token_hint` and `post_logout_redirect_uri`; null when Mydex has none. */
  @ApiProperty({ type: String, nullable: true })
  endSessionUrl!: string | null;
}
