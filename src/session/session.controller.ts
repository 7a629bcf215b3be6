import { Get, Header } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiUnauthorizedResponse } from '@nestjs/swagger';
import type { AuthenticatedMember } from './authenticated-member.js';
import { SessionConnectionStatus, WithConnectionStatus } from './connection-status.js';
import { CurrentMember } from './current-member.decorator.js';
import { SessionDto } from './session.dto.js';
import { SessionRoutes } from './session-routes.decorator.js';

@SessionRoutes()
export class SessionController {
  constructor(private readonly connection: SessionConnectionStatus) {}

  /** The member of the current session (web cookie or native bearer token). */
  @Get()
  @ApiOperation({ operationId: 'getSession' })
  @WithConnectionStatus()
  @Header('cache-control', 'no-store')
  @ApiOkResponse({ type: SessionDto })
  @ApiUnauthorizedResponse({ description: 'problem+json `session_required`: no session, or it expired or was ended.' })
  async current(@CurrentMember() member: AuthenticatedMember): Promise<SessionDto> {
    return {
      member: { sub: member.sub, mydexid: member.mydexid },
      expiresAt: member.expiresAt.toISOString(),
      // Read with the session in one statement (MemberSessionGuard); a registration binding asks here.
      connected: member.connected ?? (await this.connection.isConnected(member)),
    };
  }
}
