import { ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ThrottlerGuard, type ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { ProblemException } from '../common/problem/problem.exception.js';
import { securityConfig } from '../config/security.config.js';
import { pathOf, RATE_LIMIT_PREFIXES } from './rate-limit.groups.js';

/**
 * Per-client-IP limits on the public, abusable routes. The client IP is Fastify's `request.ip`,
 * which believes X-Forwarded-For only from TRUSTED_PROXIES. If the counter store (Redis) is down,
 * the request is let through and the failure logged: an outage of Redis must not take down
 * registration.
 */
@Injectable()
export class RateLimitGuard extends ThrottlerGuard {
  private readonly log = new Logger('RateLimitGuard');

  @Inject(securityConfig.KEY)
  private readonly security!: ConfigType<typeof securityConfig>;

  /** Most requests are on unlimited routes (or limits are off): decide that once, before any throttler runs. */
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    if (!this.security.rateLimits) return true;
    const path = pathOf(context.switchToHttp().getRequest<FastifyRequest>());
    return !RATE_LIMIT_PREFIXES.some((prefix) => path.startsWith(prefix));
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      return await super.canActivate(context);
    } catch (error) {
      if (error instanceof ProblemException) throw error;
      this.log.warn({ err: error }, 'rate-limit store unavailable; request allowed');
      return true;
    }
  }

  /**
   * One counter per group and client (the tracker: the library's, `request.ip` with IPv6 grouped by
   * /64), shared by every route of the group. The library's default key also names the controller and
   * handler, which would give each route of a group its own budget.
   */
  protected override generateKey(_context: ExecutionContext, tracker: string, throttlerName: string): string {
    return `${throttlerName}:${tracker}`;
  }

  protected override async throwThrottlingException(_context: ExecutionContext, detail: ThrottlerLimitDetail): Promise<void> {
    const retryAfter = Math.max(1, detail.isBlocked ? detail.timeToBlockExpire : detail.timeToExpire);
    throw new ProblemException('rate_limited', `Too many requests from this address; try again in ${retryAfter} s.`, {
      headers: { 'retry-after': String(retryAfter) },
    });
  }
}
