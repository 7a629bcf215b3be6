import { type CanActivate, type ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { ROUTE_ACCESS, type RouteAccess } from '../common/auth/route-access.decorator.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MEMBER, type AuthenticatedMember, type RequestWithMember } from './authenticated-member.js';
import { REGISTRATION_BINDING, RegistrationBindings, type BoundRegistration } from './registration-binding.js';
import { SessionCookies } from './session-cookies.js';
import { WITH_CONNECTION_STATUS } from './connection-status.js';
import { SessionsService, type ActiveSession } from './sessions.service.js';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

interface RouteSessionNeeds {
  /** `@RegistrationBindingAccepted()`: a registration binding may stand in for a session. */
  bindingAccepted: boolean;
  /** `@WithConnectionStatus()`: read the member's `connected` with the session. */
  connected: boolean;
}

type FoundSession = ActiveSession & { connected?: boolean };

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

  /** What each route declares, read once per handler and class (the metadata never changes). */
  private readonly routes = new WeakMap<object, WeakMap<object, RouteSessionNeeds | undefined>>();

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    const needs = this.needsOf(context.getHandler(), context.getClass());
    // Not a member route: answered synchronously, no promise made.
    if (needs === undefined) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & RequestWithMember>();
    if (request[MEMBER]) return true;
    return this.admit(request, needs);
  }

  private async admit(request: FastifyRequest & RequestWithMember, needs: RouteSessionNeeds): Promise<boolean> {
    request[MEMBER] = needs.bindingAccepted
      ? await this.sessionOrBinding(request, needs)
      : toMember(await this.authenticate(request, needs));
    return true;
  }

  /** The route's session needs, or undefined when it is not a `@MemberSessionRoute()`. */
  private needsOf(handler: object, controller: object): RouteSessionNeeds | undefined {
    let byClass = this.routes.get(handler);
    if (byClass === undefined) {
      byClass = new WeakMap<object, RouteSessionNeeds | undefined>();
      this.routes.set(handler, byClass);
    }
    if (byClass.has(controller)) return byClass.get(controller);
    const targets = [handler, controller] as (() => unknown)[];
    const access = this.reflector.getAllAndOverride<RouteAccess | undefined>(ROUTE_ACCESS, targets);
    const needs =
      access === 'member_session'
        ? {
            bindingAccepted: this.reflector.getAllAndOverride<boolean | undefined>(REGISTRATION_BINDING, targets) === true,
            connected: this.reflector.getAllAndOverride<boolean | undefined>(WITH_CONNECTION_STATUS, targets) === true,
          }
        : undefined;
    byClass.set(controller, needs);
    return needs;
  }

  /**
   * A live session, as everywhere; failing that, the binding of an own-form registration within its
   * connect window. A session holder is never affected: the binding is only looked at when the session
   * check would answer 401 `session_required` (a missing CSRF header stays 403).
   */
  private async sessionOrBinding(request: FastifyRequest, needs: RouteSessionNeeds): Promise<AuthenticatedMember> {
    let refusal: ProblemException;
    try {
      return toMember(await this.authenticate(request, needs));
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

  private async authenticate(request: FastifyRequest, needs: RouteSessionNeeds): Promise<FoundSession> {
    const options = { connected: needs.connected };
    const authorization = request.headers.authorization;
    if (authorization !== undefined) {
      const match = /^Bearer ([^\s]+)$/i.exec(authorization);
      const session = match ? await this.sessions.findActive(match[1], 'native', options) : null;
      if (!session) throw unauthenticated('The bearer session token is unknown, expired or ended.');
      return session;
    }
    const cookie = this.cookies.readSession(request);
    if (cookie === undefined) throw unauthenticated('Sign in first.');
    if (!SAFE_METHODS.has(request.method) && request.headers['x-csrf'] !== '1') {
      throw new ProblemException('csrf_header_missing', 'Send the header X-CSRF: 1 with cookie-authenticated requests that change state.');
    }
    const session = await this.sessions.findActive(cookie, 'web', options);
    if (!session) throw unauthenticated('The session is unknown, expired or ended; sign in again.');
    return session;
  }
}

function unauthenticated(detail: string): ProblemException {
  return new ProblemException('session_required', detail, { headers: { 'www-authenticate': 'Bearer' } });
}

function toMember(session: FoundSession): AuthenticatedMember {
  const member: AuthenticatedMember = {
    via: 'session',
    sessionId: session.id,
    client: session.client,
    issuer: session.issuer,
    sub: session.sub,
    mydexid: session.mydexid,
    expiresAt: session.expiresAt,
  };
  if (session.connected !== undefined) member.connected = session.connected;
  return member;
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
