import { Body, Controller, Header, HttpCode, Post, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiOkResponse,
  ApiOperation,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnsupportedMediaTypeResponse,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../common/auth/route-access.decorator.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MalformedForm } from '../connection/callback-form.js';
import { originOf } from '../events/domain-events.js';
import { BackchannelLogoutService } from './backchannel-logout.service.js';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';
import { BACKCHANNEL_LOGOUT } from '../common/http/routes.js';

const FORM = 'application/x-www-form-urlencoded';

/**
 * OpenID Connect Back-Channel Logout 1.0: Mydex's server POSTs a signed logout token here when a
 * member's session at Mydex ends. Register `{PUBLIC_BASE_URL}/v1/auth/oidc/backchannel-logout` as the
 * client's `backchannel_logout_uri` with Mydex.
 */
@ApiTags('auth')
@Public()
@SkipRateLimit("Mydex's server calls it (a per-IP limit would drop logouts in a burst); each request is a signed, single-use logout token")
@Controller(BACKCHANNEL_LOGOUT.prefix)
export class BackchannelLogoutController {
  constructor(private readonly backchannel: BackchannelLogoutService) {}

  @Post(BACKCHANNEL_LOGOUT.sub)
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    operationId: 'receiveBackchannelLogout',
    summary: 'Mydex: back-channel logout (OpenID Connect Back-Channel Logout 1.0)',
    description:
      "Called by Mydex's server, not by browsers or apps. Verifies the logout token (signature against Mydex's JWKS, `iss`, `aud`, `iat`, `events`, no `nonce`, `sub` and/or `sid`, single-use `jti`) and ends every session of that member (or of that Mydex session).",
  })
  @ApiConsumes(FORM)
  @ApiBody({
    schema: {
      type: 'object',
      required: ['logout_token'],
      properties: { logout_token: { type: 'string', description: 'The logout token (a signed JWT).' } },
    },
  })
  @ApiOkResponse({ description: 'The token was valid; the sessions it names have ended (an empty body).' })
  @ApiBadRequestResponse({
    description: '`logout_token_invalid` (bad signature, claims, or a `jti` already used) or `malformed_form`',
    content: PROBLEM,
  })
  @ApiUnsupportedMediaTypeResponse({ description: '`unsupported_media_type`: the body is not a form', content: PROBLEM })
  @ApiServiceUnavailableResponse({
    description: "`upstream_unavailable`: Mydex's discovery or keys could not be fetched",
    content: PROBLEM,
  })
  async logout(@Body() body: unknown, @Req() request: FastifyRequest): Promise<void> {
    if (!(request.headers['content-type'] ?? '').toLowerCase().startsWith(FORM)) {
      throw new ProblemException('unsupported_media_type', `Send the logout token as ${FORM}.`);
    }
    if (body instanceof MalformedForm) throw new ProblemException('malformed_form', body.reason);
    const token = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).logout_token : undefined;
    await this.backchannel.logout(token, originOf(request));
  }
}
