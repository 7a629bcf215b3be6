import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ROUTE_ACCESS, type RouteAccess } from '../common/auth/route-access.decorator.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MEMBER, type AuthenticatedMember, type RequestWithMember } from './authenticated-member.js';
import { SessionCookies } from './session-cookies.js';
import { SessionsService, type ActiveSession } from './sessions.service.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Admits a request to a `@MemberSessionRoute()` when it carries a live session: a native bearer token
 * (`Authorization: Bearer …`) or the web session cookie. Cookie-authenticated state-changing requests
 * must also send `X-CSRF: 1`: a cross-site form cannot set a custom header, and a cross-site fetch
 * that does is stopped by CORS preflight. Registered globally, so declaring the route is enough.
 */
@Injectable()
export class MemberSessionGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly sessions: SessionsService,
    private readonly cookies: SessionCookies,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const access = this.reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, [context.getHandler(), context.getClass()]);
    if (access !== 'member_session') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & RequestWithMember>();
    if (request[MEMBER]) return true;
    request[MEMBER] = toMember(await this.authenticate(request));
    return true;
  }

  private async authenticate(request: FastifyRequest): Promise<ActiveSession> {
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([^\s]+)$/i.exec(authorization);
      const session = match ? await this.sessions.findActive(match[1], 'native') : null;
      if (!session) throw unauthenticated('The bearer session token is unknown, expired or ended.');
      return session;
    }
    const cookie = this.cookies.readSession(request);
    if (cookie === undefined) throw unauthenticated('Sign in first.');
    if (!SAFE_METHODS.has(request.method) && request.headers['x-csrf'] !== '1') {
      throw new ProblemException('csrf_header_missing', 'Send the header X-CSRF: 1 with cookie-authenticated requests that change state.');
    }
    const session = await this.sessions.findActive(cookie, 'web');
    if (!session) throw unauthenticated('The session is unknown, expired or ended; sign in again.');
    return session;
  }
}

function unauthenticated(detail: string): ProblemException {
  return new ProblemException('session_required', detail, { headers: { 'www-authenticate': 'Bearer' } });
}

function toMember(session: ActiveSession): AuthenticatedMember {
  return {
    sessionId: session.id,
    client: session.client,
    issuer: session.issuer,
    sub: session.sub,
    mydexid: session.mydexid,
    expiresAt: session.expiresAt,
  };
}
