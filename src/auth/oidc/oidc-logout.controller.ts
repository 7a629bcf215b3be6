import { Body, Header, HttpCode, Post, Res } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiOkResponse, ApiOperation, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import type { AuthenticatedMember } from '../../session/authenticated-member.js';
import { CurrentMember } from '../../session/current-member.decorator.js';
import { LogoutDto, LogoutResponseDto } from './oidc-delegate.dto.js';
import { OidcDelegateService } from './oidc-delegate.service.js';
import { SessionRoutes } from '../../session/session-routes.decorator.js';

/**
 * Logout lives with the relying party because it answers Mydex's end-session URL (RP-initiated
 * logout with the session's ID token as hint); the session itself ends in SessionsService.
 */
@SessionRoutes()
export class OidcLogoutController {
  constructor(private readonly oidc: OidcDelegateService) {}

  /** Ends the session on every instance and answers where to send the browser to end Mydex's session too. */
  @Post('logout')
  @ApiOperation({ operationId: 'logout' })
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOkResponse({ type: LogoutResponseDto })
  @ApiBadRequestResponse({
    description: 'problem+json `return_to_not_allowed`: postLogoutRedirectUri off the allowlist (the session has been ended all the same).',
  })
  @ApiUnauthorizedResponse({ description: 'problem+json `session_required`.' })
  @ApiForbiddenResponse({ description: 'problem+json `csrf_header_missing`: a cookie request without `X-CSRF: 1`.' })
  logout(
    @CurrentMember() member: AuthenticatedMember,
    @Body() input: LogoutDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LogoutResponseDto> {
    return this.oidc.logout(member, input ?? {}, reply);
  }

  /**
   * Ends every session of the member (every browser and app, on every instance), and answers Mydex's
   * end-session URL for this session's browser, as logout does.
   */
  @Post('logout-all')
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({ operationId: 'logoutAll', summary: 'End every session of the member (all browsers and apps)' })
  @ApiOkResponse({
    type: LogoutResponseDto,
    description: "Every session of the member has ended; `endSessionUrl` ends Mydex's session in this browser too.",
  })
  @ApiBadRequestResponse({
    description:
      'problem+json `return_to_not_allowed`: postLogoutRedirectUri off the allowlist (the sessions have been ended all the same).',
  })
  @ApiUnauthorizedResponse({ description: 'problem+json `session_required`.' })
  @ApiForbiddenResponse({ description: 'problem+json `csrf_header_missing`: a cookie request without `X-CSRF: 1`.' })
  logoutAll(
    @CurrentMember() member: AuthenticatedMember,
    @Body() input: LogoutDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<LogoutResponseDto> {
    return this.oidc.logout(member, input ?? {}, reply, { everywhere: true });
  }
}
