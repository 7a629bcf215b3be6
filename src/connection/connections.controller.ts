import { Body, Controller, Get, Header, HttpCode, Inject, Post, Query, Res } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiHeader,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MemberSessionRoute, Public } from '../common/auth/route-access.decorator.js';
import { ReturnToPolicy, withQuery } from '../common/return-to/return-to.policy.js';
import { appConfig } from '../config/app.config.js';
import { connectionConfig } from '../config/connection.config.js';
import type { AuthenticatedMember } from '../session/authenticated-member.js';
import { CurrentMember } from '../session/current-member.decorator.js';
import { RegistrationBindingAccepted } from '../session/registration-binding.js';
import { ConnectionStartedDto, ConnectionStatusDto, DatasetPermissionDto, StartConnectionDto } from './connections.dto.js';
import { ConnectionsService } from './connections.service.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { ApiMydexUpstreamResponses } from '../mydex/mydex-upstream-responses.decorator.js';
import { RateLimit, SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';
import { CONNECTION_RETURN, CONNECTIONS_PREFIX } from '../common/http/routes.js';

/** The member-facing side: start a connection (or an update), show it, and the browser's way back. */
@ApiTags('connections')
@ApiExtraModels(DatasetPermissionDto)
@Controller(CONNECTIONS_PREFIX)
export class ConnectionsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly returnTo: ReturnToPolicy,
    @Inject(connectionConfig.KEY) private readonly connection: ConfigType<typeof connectionConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  /**
   * Starts a First Time Connection for the signed-in member, or, when the member approved an older
   * agreement version than the configured one (MYDEX_CONNECTION_VERSION), the update to it. Instead of
   * a session, the client that created an own-form registration may call this for the registered
   * MydexID within REGISTRATION_CONNECT_WINDOW_SECONDS of the Private Key form's return (binding
   * cookie + `X-CSRF: 1`, or `X-Registration-Secret`). A session without a MydexID starts the First
   * Time Connection without one: Mydex's page then lets the member log in or register [S].
   */
  @Post()
  @HttpCode(200)
  @MemberSessionRoute()
  @RateLimit('connections')
  @RegistrationBindingAccepted()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiHeader({
    name: 'X-Registration-Secret',
    required: false,
    description: "A native app's `registrationSecret`, within the connect window after its own-form registration, instead of a session.",
  })
  @Header('cache-control', 'no-store')
  @ApiOperation({
    operationId: 'startConnection',
    summary: 'Start a First Time Connection (or an update to a newer agreement) → the DSSA URL',
  })
  @ApiOkResponse({ type: ConnectionStartedDto })
  @ApiBadRequestResponse({ description: '`return_to_not_allowed`', content: PROBLEM })
  @ApiUnauthorizedResponse({
    description: '`session_required`: no session, and no registration binding within its connect window',
    content: PROBLEM,
  })
  @ApiForbiddenResponse({ description: '`csrf_header_missing`: a cookie without `X-CSRF: 1`', content: PROBLEM })
  @ApiConflictResponse({ description: '`already_connected`: connected at the configured agreement version', content: PROBLEM })
  @ApiMydexUpstreamResponses('`upstream_auth_failed`, `upstream_bad_response` or `mydex_rejected` (422)')
  async start(@CurrentMember() member: AuthenticatedMember, @Body() body: StartConnectionDto): Promise<ConnectionStartedDto> {
    // Checked now, so a bad one is refused before Mydex is called.
    const target = this.returnTo.clientTarget(body?.returnTo, member.client);
    const returnTo = `${this.app.publicBaseUrl}${CONNECTION_RETURN.path}?${new URLSearchParams({ returnTo: target })}`;
    return this.connections.start(member, returnTo);
  }

  /** The signed-in member's connection: whether connected, the permissions granted and the version. Never the key. */
  @Get('me')
  @MemberSessionRoute()
  @SkipRateLimit("member session route: one read of the member's own connection")
  @RegistrationBindingAccepted()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @ApiHeader({
    name: 'X-Registration-Secret',
    required: false,
    description: "A native app's `registrationSecret`, within the connect window after its own-form registration, instead of a session.",
  })
  @Header('cache-control', 'no-store')
  @ApiOperation({
    operationId: 'getMyConnection',
    summary: "The signed-in member's connection: state, permissions and version (never the key)",
  })
  @ApiOkResponse({ type: ConnectionStatusDto })
  @ApiUnauthorizedResponse({
    description: '`session_required`: no session, and no registration binding within its connect window',
    content: PROBLEM,
  })
  async me(@CurrentMember() member: AuthenticatedMember): Promise<ConnectionStatusDto> {
    const found = await this.connections.connectionOf(member);
    if (!found) {
      return {
        connected: false,
        connectionId: null,
        uid: null,
        permissions: null,
        version: null,
        updateAvailable: false,
        connectedAt: null,
        notifications: [],
      };
    }
    return {
      connected: true,
      connectionId: found.connectionId,
      uid: found.uid,
      permissions: found.permissions,
      version: found.version,
      updateAvailable: found.version < this.connection.version,
      connectedAt: found.connectedAt.toISOString(),
      notifications: await this.connections.notificationsFor(found),
    };
  }

  /**
   * Where Mydex sends the browser after the Data Sharing Agreement: 303 to the frontend with
   * `connection=returned`. Mydex adds nothing to return_to that we rely on [I]; the frontend asks
   * GET /v1/connections/me for the outcome. A target that is not allowed falls back to the default.
   */
  @Get(CONNECTION_RETURN.sub)
  @Public()
  @SkipRateLimit('a redirect computed from the query: no database or Mydex work')
  @ApiOperation({ operationId: 'returnFromConnection', summary: 'The browser back from Mydex → 303 to the frontend' })
  @ApiQuery({ name: 'returnTo', required: false, type: String, description: 'An allowlisted frontend URL (set by POST /v1/connections)' })
  @ApiResponse({ status: 303, description: 'To the frontend: `returnTo` (or the first frontend origin) with `?connection=returned`' })
  back(@Query('returnTo') returnTo: unknown, @Res() reply: FastifyReply): void {
    const target = withQuery(this.returnTo.targetOrDefault(typeof returnTo === 'string' ? returnTo : undefined, ['web', 'app']), {
      connection: 'returned',
    });
    void reply.status(303).header('location', target).header('cache-control', 'no-store').send();
  }
}
