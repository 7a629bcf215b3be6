import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ROUTE_ACCESS, type RouteAccess } from '../common/auth/route-access.decorator.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MEMBER, type AuthenticatedMember, type RequestWithMember } from './authenticated-member.js';
import { REGISTRATION_BINDING, RegistrationBindings, type BoundRegistration } from './registration-binding.js';
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
    private readonly bindings: RegistrationBindings,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    const access = this.reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, targets);
    if (access !== 'member_session') return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & RequestWithMember>();
    if (request[MEMBER]) return true;
    const bindingAccepted = this.reflector.getAllAndOverride<boolean | undefined>(REGISTRATION_BINDING, targets) === true;
    request[MEMBER] = bindingAccepted ? await this.sessionOrBinding(request) : toMember(await this.authenticate(request));
    return true;
  }

  /**
   * A live session, as everywhere; failing that, the binding of an own-form registration within its
   * connect window. A session holder is never affected: the binding is only looked at when the session
   * check would answer 401 `session_required` (a missing CSRF header stays 403).
   */
  private async sessionOrBinding(request: FastifyRequest): Promise<AuthenticatedMember> {
    let refusal: ProblemException;
    try {
      return toMember(await this.authenticate(request));
    } catch (error) {
      if (!(error instanceof ProblemException) || error.code !== 'session_required') throw error;
      refusal = error;
    }
    const presented = this.bindings.presented(request);
    if (presented === undefined) throw refusal;
    if (presented.client === 'web' && !SAFE_METHODS.has(request.method) && request.headers['x-csrf'] !== '1') {
      throw new ProblemException('csrf_header_missing', 'Send the header X-CSRF: 1 with cookie-authenticated requests that change state.');
    }
    const bound = await this.bindings.find(presented);
    if (!bound) throw unauthenticated('No session, and the registration binding is unknown or its connect window has ended; sign in.');
    return boundMember(bound);
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
    via: 'session',
    sessionId: session.id,
    client: session.client,
    issuer: session.issuer,
    sub: session.sub,
    mydexid: session.mydexid,
    expiresAt: session.expiresAt,
  };
}

function boundMember(bound: BoundRegistration): AuthenticatedMember {
  return {
    via: 'registration',
    sessionId: `registration:${bound.registrationId}`,
    client: bound.client,
    issuer: 'bff:registration',
    sub: `registration:${bound.registrationId}`,
    mydexid: bound.mydexid,
    expiresAt: bound.until,
  };
}
