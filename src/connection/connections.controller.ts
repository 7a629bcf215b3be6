import { Body, Controller, Get, Header, HttpCode, Inject, Post, Query, Res } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import {
  ApiBadRequestResponse,
  ApiBearerAuth,
  ApiConflictResponse,
  ApiCookieAuth,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { MemberSessionRoute, Public } from '../common/auth/route-access.decorator.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { allowedAppRedirectUri, allowedWebReturnTo, ReturnToPolicy, withQuery } from '../common/return-to/return-to.policy.js';
import { appConfig } from '../config/app.config.js';
import { connectionConfig } from '../config/connection.config.js';
import { MydexClient } from '../mydex/mydex.client.js';
import type { AuthenticatedMember } from '../session/authenticated-member.js';
import { CurrentMember } from '../session/current-member.decorator.js';
import { ConnectionStartedDto, ConnectionStatusDto, DatasetPermissionDto, StartConnectionDto } from './connections.dto.js';
import { ConnectionsService } from './connections.service.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { ApiMydexUpstreamResponses } from '../mydex/mydex-upstream-responses.decorator.js';

/** The member-facing side: start a connection (or an update), show it, and the browser's way back. */
@ApiTags('connections')
@ApiExtraModels(DatasetPermissionDto)
@Controller('v1/connections')
export class ConnectionsController {
  constructor(
    private readonly connections: ConnectionsService,
    private readonly mydex: MydexClient,
    private readonly returnTo: ReturnToPolicy,
    @Inject(connectionConfig.KEY) private readonly connection: ConfigType<typeof connectionConfig>,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
  ) {}

  /**
   * Starts a First Time Connection for the signed-in member, or, when the member approved an older
   * agreement version than the configured one (MYDEX_CONNECTION_VERSION), the update to it.
   */
  @Post()
  @HttpCode(200)
  @MemberSessionRoute()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Start a First Time Connection (or an update to a newer agreement) → the DSSA URL' })
  @ApiOkResponse({ type: ConnectionStartedDto })
  @ApiBadRequestResponse({ description: '`return_to_not_allowed`, or `invalid_request` when the session has no MydexID', content: PROBLEM })
  @ApiUnauthorizedResponse({ description: '`session_required`', content: PROBLEM })
  @ApiConflictResponse({ description: '`already_connected`: connected at the configured agreement version', content: PROBLEM })
  @ApiMydexUpstreamResponses('`upstream_auth_failed`, `upstream_bad_response` or `mydex_rejected` (422)')
  async start(@CurrentMember() member: AuthenticatedMember, @Body() body: StartConnectionDto): Promise<ConnectionStartedDto> {
    if (!member.mydexid) throw new ProblemException('invalid_request', 'The session carries no MydexID; sign in again.');
    const target = this.checkedTarget(member, body?.returnTo);
    const existing = await this.connections.findByMydexid(member.mydexid);
    const configured = this.connection.version;
    if (existing && existing.version >= configured) {
      throw new ProblemException('already_connected', `Already connected at agreement version ${existing.version}.`);
    }
    const returnTo = `${this.app.publicBaseUrl}/v1/connections/return?${new URLSearchParams({ returnTo: target })}`;
    const { url } = await this.mydex.startConnection(
      existing ? { mydexid: member.mydexid, returnTo, version: configured } : { mydexid: member.mydexid, returnTo },
    );
    return { url, kind: existing ? 'update' : 'first' };
  }

  /** The signed-in member's connection: whether connected, the permissions granted and the version. Never the key. */
  @Get('me')
  @MemberSessionRoute()
  @ApiCookieAuth()
  @ApiBearerAuth()
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: "The signed-in member's connection: state, permissions and version (never the key)" })
  @ApiOkResponse({ type: ConnectionStatusDto })
  @ApiUnauthorizedResponse({ description: '`session_required`', content: PROBLEM })
  async me(@CurrentMember() member: AuthenticatedMember): Promise<ConnectionStatusDto> {
    const found = member.mydexid ? await this.connections.findByMydexid(member.mydexid) : null;
    if (!found) {
      return { connected: false, connectionId: null, uid: null, permissions: null, version: null, updateAvailable: false, connectedAt: null };
    }
    return {
      connected: true,
      connectionId: found.connectionId,
      uid: found.uid,
      permissions: found.permissions,
      version: found.version,
      updateAvailable: found.version < this.connection.version,
      connectedAt: found.connectedAt.toISOString(),
    };
  }

  /**
   * Where Mydex sends the browser after the Data Sharing Agreement: 303 to the frontend with
   * `connection=returned`. Mydex adds nothing to return_to that we rely on [I]; the frontend asks
   * GET /v1/connections/me for the outcome. A target that is not allowed falls back to the default.
   */
  @Get('return')
  @Public()
  @ApiOperation({ summary: 'The browser back from Mydex → 303 to the frontend' })
  @ApiQuery({ name: 'returnTo', required: false, type: String, description: 'An allowlisted frontend URL (set by POST /v1/connections)' })
  @ApiResponse({ status: 303, description: 'To the frontend: `returnTo` (or the first frontend origin) with `?connection=returned`' })
  back(@Query('returnTo') returnTo: unknown, @Res() reply: FastifyReply): void {
    const given = typeof returnTo === 'string' ? returnTo : undefined;
    const allowed =
      given === undefined
        ? undefined
        : (allowedWebReturnTo(given, this.app.frontendOrigins) ?? allowedAppRedirectUri(given, this.app.nativeRedirectUris));
    const target = withQuery(allowed ?? this.returnTo.defaultWebTarget, { connection: 'returned' });
    void reply.status(303).header('location', target).header('cache-control', 'no-store').send();
  }

  /** The member's returnTo, checked now so a bad one is refused before Mydex is called. */
  private checkedTarget(member: AuthenticatedMember, returnTo: string | undefined): string {
    if (returnTo !== undefined && member.client === 'native' && allowedAppRedirectUri(returnTo, this.app.nativeRedirectUris)) return returnTo;
    return this.returnTo.webReturnTo(returnTo);
  }
}
