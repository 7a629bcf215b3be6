import { type CanActivate, type ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ModuleRef, Reflector } from '@nestjs/core';
import { normalizeIp } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash } from 'node:crypto';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MEMBER, type RequestWithMember } from '../session/authenticated-member.js';
import { MemberSessionGuard } from '../session/member-session.guard.js';
import { RateLimitStores } from './counter-store.js';
import { RATE_LIMIT, type RateLimitDecision } from './rate-limit.decorator.js';
import { RATE_LIMIT_GROUP_BY_NAME, type RateLimitGroup } from './rate-limit.groups.js';
import { rateLimitConfig } from './rate-limit.config.js';

/** The client address a limit counts: `request.ip` (X-Forwarded-For only from TRUSTED_PROXIES), IPv6 by /64. */
export const clientAddressOf = (request: FastifyRequest): string => normalizeIp(request.ip);

/**
 * Applies the route's `@RateLimit(group)` decision, read from the handler Nest matched (never from
 * the URL text, which a client can spell many ways). One counter per group and client, shared by
 * every route of the group. If the counter store (Redis) is down, the request is let through and the
 * failure logged: an outage of Redis must not take down registration.
 */
@Injectable()
export class RateLimitGuard implements CanActivate {
  private readonly log = new Logger('RateLimitGuard');
  private sessionGuard: MemberSessionGuard | undefined;

  constructor(
    private readonly reflector: Reflector,
    private readonly stores: RateLimitStores,
    private readonly moduleRef: ModuleRef,
    @Inject(rateLimitConfig.KEY) private readonly config: ConfigType<typeof rateLimitConfig>,
  ) {}

  /** Each route's group (or none), read once per handler and class: the metadata never changes. */
  private readonly groups = new WeakMap<object, WeakMap<object, RateLimitGroup | undefined>>();

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (!this.config.enabled) return true;
    const group = this.groupOf(context.getHandler(), context.getClass());
    // No limit on this route: answered synchronously, no promise made.
    if (group === undefined) return true;
    return this.count(context, group);
  }

  private groupOf(handler: object, controller: object): RateLimitGroup | undefined {
    let byClass = this.groups.get(handler);
    if (byClass === undefined) {
      byClass = new WeakMap<object, RateLimitGroup | undefined>();
      this.groups.set(handler, byClass);
    }
    if (byClass.has(controller)) return byClass.get(controller);
    const decision = this.reflector.getAllAndOverride<RateLimitDecision | undefined>(RATE_LIMIT, [
      handler,
      controller,
    ] as (() => unknown)[]);
    const group = decision === undefined || !('group' in decision) ? undefined : RATE_LIMIT_GROUP_BY_NAME.get(decision.group);
    byClass.set(controller, group);
    return group;
  }

  private async count(context: ExecutionContext, group: RateLimitGroup): Promise<boolean> {
    const http = context.switchToHttp();
    const request = http.getRequest<FastifyRequest & RequestWithMember>();
    const tracker = group.per === 'member' ? await this.memberTracker(context, request) : clientAddressOf(request);
    let record: Awaited<ReturnType<RateLimitStores['throttler']['increment']>>;
    try {
      record = await this.stores.throttler.increment(`${group.name}:${tracker}`, group.ttlMs, group.limit, group.ttlMs, group.name);
    } catch (error) {
      this.log.warn({ err: error }, 'rate-limit store unavailable; request allowed');
      return true;
    }
    const reply = http.getResponse<FastifyReply>();
    void reply.header(`x-ratelimit-limit-${group.name}`, group.limit);
    void reply.header(`x-ratelimit-remaining-${group.name}`, Math.max(0, group.limit - record.totalHits));
    void reply.header(`x-ratelimit-reset-${group.name}`, record.timeToExpire);
    if (record.isBlocked) throw limited(group, Math.max(1, record.timeToBlockExpire));
    return true;
  }

  /**
   * The signed-in member, as a hash of the MydexID (or, without one, issuer and subject). MemberSessionGuard (global, registered
   * after this guard) authenticates here first; it keeps the member on the request and does not
   * look the session up again.
   */
  private async memberTracker(context: ExecutionContext, request: FastifyRequest & RequestWithMember): Promise<string> {
    const sessionGuard: MemberSessionGuard = this.sessionGuard ?? this.moduleRef.get(MemberSessionGuard, { strict: false });
    this.sessionGuard = sessionGuard;
    await sessionGuard.canActivate(context);
    const member = request[MEMBER];
    // Only on @MemberSessionRoute() routes (the route audit checks); anywhere else count the address.
    if (!member) return clientAddressOf(request);
    const identity = member.mydexid ? `mydexid\n${member.mydexid.toLowerCase()}` : `${member.issuer}\n${member.sub}`;
    return `member:${createHash('sha256').update(identity).digest('base64url').slice(0, 32)}`;
  }
}

function limited(group: RateLimitGroup, retryAfter: number): ProblemException {
  const who = group.per === 'member' ? 'for this member' : 'from this address';
  return new ProblemException('rate_limited', `Too many requests ${who}; try again in ${retryAfter} s.`, {
    headers: { 'retry-after': String(retryAfter) },
  });
}
