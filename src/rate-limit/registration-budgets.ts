import {
  applyDecorators,
  type CallHandler,
  type ExecutionContext,
  Inject,
  Injectable,
  Logger,
  type NestInterceptor,
  UseInterceptors,
} from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { catchError, concatMap, from, map, type Observable, throwError } from 'rxjs';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { RateLimitStores } from './counter-store.js';
import { clientAddressOf } from './rate-limit.guard.js';
import { rateLimitConfig } from './rate-limit.config.js';

/** Answered by Mydex [I]: the only answers that tell whether a MydexID or an email exists at Mydex. */
const CONFLICT_CODES = new Set(['mydexid_taken', 'email_taken']);
/** Answers that mean the registration reached Mydex (besides 2xx): they spend the global budget. */
const REACHED_MYDEX_CODES = new Set(['mydexid_taken', 'email_taken', 'mydex_rejected']);
const REPLAY_HEADER = 'idempotent-replayed';

export type RegistrationOutcome = 'created' | 'conflict' | 'rejected' | 'not_sent';

/**
 * Budgets that make account enumeration through `POST /v1/registrations` expensive and visible
 * (docs/security.md): Mydex answers "taken" for any MydexID or email in all of Mydex [I], which we
 * cannot change.
 *
 * - per client IP: at most REGISTRATION_CONFLICT_LIMIT 409 answers per REGISTRATION_CONFLICT_WINDOW_SECONDS;
 *   once spent, every registration from that address gets 429 `rate_limited` until the window ends;
 * - across every client and instance: at most REGISTRATION_GLOBAL_LIMIT registrations that reach
 *   Mydex per REGISTRATION_GLOBAL_WINDOW_SECONDS (aligned windows); once spent, every registration
 *   gets 429 until the window ends, `bff_registration_global_limit_tripped_total` counts the trip
 *   and one warning is logged (by the instance whose registration spent the budget).
 *
 * Counted in Redis when REDIS_URL is set, else per process. The check reads the counters and the
 * outcome counts after Mydex answered, so concurrent requests can overshoot a budget by the
 * number in flight. If Redis is down the registration is allowed and a warning logged.
 */
@Injectable()
export class RegistrationBudgets {
  private readonly log = new Logger('RegistrationBudgets');

  constructor(
    private readonly stores: RateLimitStores,
    private readonly metrics: MetricsService,
    @Inject(rateLimitConfig.KEY) private readonly config: ConfigType<typeof rateLimitConfig>,
  ) {}

  /** Throws 429 `rate_limited` when this address's conflict budget or the global budget is spent. */
  async check(address: string): Promise<void> {
    if (!this.config.enabled) return;
    const window = this.globalWindow();
    let conflicts: number;
    let conflictTtlMs: number;
    let global: number;
    try {
      const [perAddress, all] = await Promise.all([
        this.stores.counters.peek(conflictKey(address)),
        window ? this.stores.counters.peek(window.key) : Promise.resolve({ count: 0, ttlMs: 0 }),
      ]);
      [conflicts, conflictTtlMs, global] = [perAddress.count, perAddress.ttlMs, all.count];
    } catch (error) {
      this.log.warn({ err: error }, 'registration budget store unavailable; registration allowed');
      return;
    }
    if (conflicts >= this.config.conflictLimit) {
      this.metrics.registrationLimited.inc({ budget: 'conflicts_per_ip' });
      throw limited('Too many registrations from this address were refused as already in use', conflictTtlMs);
    }
    if (window && global >= this.config.globalLimit) {
      this.metrics.registrationLimited.inc({ budget: 'global' });
      throw limited('Registration is paused for everyone for a while', window.endsInMs);
    }
  }

  /** Counts what Mydex answered: a conflict spends the address's budget; anything Mydex answered spends the global one. */
  async record(address: string, outcome: RegistrationOutcome, code?: string): Promise<void> {
    if (outcome === 'conflict' && code) this.metrics.registrationConflicts.inc({ code });
    if (!this.config.enabled || outcome === 'not_sent') return;
    try {
      if (outcome === 'conflict') await this.stores.counters.add(conflictKey(address), this.config.conflictWindowMs);
      const window = this.globalWindow();
      if (!window) return;
      const { count } = await this.stores.counters.add(window.key, this.config.globalWindowMs);
      if (count === this.config.globalLimit) {
        this.metrics.registrationGlobalLimitTripped.inc();
        this.log.warn(
          {
            budget: this.config.globalLimit,
            windowSeconds: this.config.globalWindowMs / 1000,
            resumesInSeconds: Math.ceil(window.endsInMs / 1000),
          },
          'registration global budget spent: every registration is refused with 429 until the window ends (possible enumeration or spam)',
        );
      }
    } catch (error) {
      this.log.warn({ err: error }, 'registration budget store unavailable; outcome not counted');
    }
  }

  private globalWindow(): { key: string; endsInMs: number } | undefined {
    if (this.config.globalLimit <= 0) return undefined;
    const now = Date.now();
    const size = this.config.globalWindowMs;
    const index = Math.floor(now / size);
    // The window length is part of the key, so a changed setting starts a fresh count.
    return { key: `registrations:global:${size}:${index}`, endsInMs: (index + 1) * size - now };
  }
}

function conflictKey(address: string): string {
  return `registrations:conflicts:${address}`;
}

function limited(reason: string, ttlMs: number): ProblemException {
  const retryAfter = Math.max(1, Math.ceil(ttlMs / 1000));
  return new ProblemException('rate_limited', `${reason}; try again in ${retryAfter} s.`, {
    headers: { 'retry-after': String(retryAfter) },
  });
}

/** What a registration's answer says about whether it reached Mydex. Replays of an Idempotency-Key did not. */
export function outcomeOf(result: { error: unknown } | { replayed: boolean }): { outcome: RegistrationOutcome; code?: string } {
  if ('replayed' in result) return { outcome: result.replayed ? 'not_sent' : 'created' };
  const error = result.error;
  if (!(error instanceof ProblemException) || !REACHED_MYDEX_CODES.has(error.code)) return { outcome: 'not_sent' };
  const replayed = error.options.headers?.[REPLAY_HEADER] === 'true';
  if (CONFLICT_CODES.has(error.code)) return { outcome: replayed ? 'not_sent' : 'conflict', code: error.code };
  return { outcome: replayed ? 'not_sent' : 'rejected', code: error.code };
}

/** Checks the budgets before the handler and counts its outcome after (see RegistrationBudgets). */
@Injectable()
export class RegistrationBudgetInterceptor implements NestInterceptor {
  constructor(private readonly budgets: RegistrationBudgets) {}

  async intercept(context: ExecutionContext, next: CallHandler): Promise<Observable<unknown>> {
    const http = context.switchToHttp();
    const address = clientAddressOf(http.getRequest<FastifyRequest>());
    await this.budgets.check(address);
    const reply = http.getResponse<FastifyReply>();
    // Counted before the answer leaves, so the client's next request (on any instance) sees it.
    const count = (result: { error: unknown } | { replayed: boolean }) => {
      const { outcome, code } = outcomeOf(result);
      return from(this.budgets.record(address, outcome, code));
    };
    return next.handle().pipe(
      concatMap((value) => count({ replayed: reply.getHeader(REPLAY_HEADER) === 'true' }).pipe(map(() => value))),
      catchError((error: unknown) => count({ error }).pipe(concatMap(() => throwError(() => error)))),
    );
  }
}

/**
 * On `POST /v1/registrations`: the per-address conflict budget and the global registration budget
 * against account enumeration. The route keeps its `@RateLimit('registrations')` decision as well.
 */
export const RegistrationEnumerationBudgets = () => applyDecorators(UseInterceptors(RegistrationBudgetInterceptor));
