import { SetMetadata } from '@nestjs/common';
import type { RateLimitGroupName } from './rate-limit.groups.js';

/**
 * Every route declares its rate-limit decision, on the controller class or the handler (the
 * handler's wins): `@RateLimit('<group>')` or `@SkipRateLimit('<why>')`. RateLimitGuard reads it
 * from the handler Nest matched, so the decision cannot be dodged by spelling the path differently;
 * `test/route-audit.e2e-spec.ts` fails on a route that declares none.
 */
export const RATE_LIMIT = 'bff:rateLimit';

export type RateLimitDecision = { readonly group: RateLimitGroupName } | { readonly skip: string };

/** Counts the route against the group's budget (rate-limit.groups.ts). */
export const RateLimit = (group: RateLimitGroupName) => SetMetadata(RATE_LIMIT, { group } satisfies RateLimitDecision);

/** Not limited by the BFF, for the reason given (read by reviewers and the route audit). */
export const SkipRateLimit = (reason: string) => SetMetadata(RATE_LIMIT, { skip: reason } satisfies RateLimitDecision);
