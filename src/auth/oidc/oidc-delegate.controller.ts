import { Body, Controller, Get, Header, HttpCode, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiSeeOtherResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../../common/auth/route-access.decorator.js';
import { ProblemException } from '../../common/problem/problem.exception.js';
import { AuthorizeDto, AuthorizeResponseDto, SessionExchangeDto, SessionExchangeResponseDto } from './oidc-delegate.dto.js';
import { originOf } from '../../events/domain-events.js';
import { OidcDelegateService } from './oidc-delegate.service.js';
import { RateLimit } from '../../rate-limit/rate-limit.decorator.js';
import { AUTH_PREFIX, OIDC_CALLBACK } from '../../common/http/routes.js';

const REFUSED_START = 'problem+json: `return_to_not_allowed` (returnTo or appRedirectUri off the allowlist) or `invalid_request`.';

/** Delegated registration and login at Mydex (OIDC), and the native session exchange. */
@ApiTags('auth')
@Public()
@RateLimit('auth')
@Controller(AUTH_PREFIX)
export class OidcDelegateController {
  constructor(private readonly oidc: OidcDelegateService) {}

  /** Starts registration (`intent: register`, Mydex's `action=register`) or login; answers the URL to open. */
  @Post('oidc/authorize')
  @ApiOperation({ operationId: 'startAuthorization' })
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOkResponse({ type: AuthorizeResponseDto })
  @ApiBadRequestResponse({ description: REFUSED_START })
  @ApiUnprocessableEntityResponse({ description: 'problem+json `validation_failed`.' })
  @ApiServiceUnavailableResponse({ description: 'problem+json `upstream_unavailable`: Mydex discovery could not be read.' })
  authorize(
    @Body() input: AuthorizeDto,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<AuthorizeResponseDto> {
    return this.oidc.start(input, request, reply);
  }

  /** The same for a plain browser navigation (web only): 302 to Mydex. */
  @Get('oidc/authorize')
  @ApiOperation({ operationId: 'redirectToAuthorization' })
  @ApiFoundResponse({ description: 'Redirect to Mydex.' })
  @ApiBadRequestResponse({ description: `${REFUSED_START} Native clients must use POST (they need the exchange secret).` })
  async authorizeByNavigation(@Query() input: AuthorizeDto, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    if (input.client === 'native') {
      throw new ProblemException(
        'invalid_request',
        'Native clients start with POST /v1/auth/oidc/authorize, which answers the exchange secret.',
      );
    }
    const { authorizationUrl } = await this.oidc.start(input, request, reply);
    await reply.header('cache-control', 'no-store').redirect(authorizationUrl, 302);
  }

  /**
   * Mydex sends the browser here. Web: session cookie and 303 to returnTo. Native: 303 to the app's
   * redirect URI with `code`. Any refusal: 303 to the same place with `error=<code>`.
   */
  @Get(OIDC_CALLBACK.sub)
  @ApiOperation({ operationId: 'handleAuthorizationCallback' })
  @ApiQuery({ name: 'state', required: false })
  @ApiQuery({ name: 'code', required: false })
  @ApiQuery({ name: 'iss', required: false })
  @ApiQuery({ name: 'error', required: false })
  @ApiSeeOtherResponse({ description: 'To returnTo or appRedirectUri, with `code` (native) or `error`.' })
  async callback(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const target = await this.oidc.finish(request, reply);
    await reply.header('cache-control', 'no-store').redirect(target, 303);
  }

  /** Native: the code from the app redirect plus the exchange secret from authorize → a bearer session token. */
  @Post('session/exchange')
  @ApiOperation({ operationId: 'exchangeSession' })
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOkResponse({ type: SessionExchangeResponseDto })
  @ApiBadRequestResponse({ description: 'problem+json `exchange_code_invalid`: unknown, used or expired code, or the wrong secret.' })
  exchange(@Body() input: SessionExchangeDto, @Req() request: FastifyRequest): Promise<SessionExchangeResponseDto> {
    return this.oidc.exchange(input.code, input.exchangeSecret, originOf(request));
  }
}
