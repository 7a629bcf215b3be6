/**
 * The limited route groups. A route joins a group with `@RateLimit('<group>')` on its controller or
 * handler (src/rate-limit/rate-limit.decorator.ts); every route of a group shares one budget per
 * client: the client IP (`per: 'ip'`, IPv6 grouped by /64) or the signed-in member (`per: 'member'`,
 * only on `@MemberSessionRoute()` routes). The decision follows the route Nest matched, never the
 * URL text, so `/v1/%72egistrations` spends the registrations budget like `/v1/registrations`.
 */
export const RATE_LIMIT_GROUPS = [
  { name: 'registrations', per: 'ip', limit: 20, ttlMs: 60_000 },
  { name: 'validation', per: 'ip', limit: 300, ttlMs: 60_000 },
  { name: 'auth', per: 'ip', limit: 60, ttlMs: 60_000 },
  // POST /v1/connections reaches Mydex twice per call (short access token, /api/connection).
  { name: 'connections', per: 'member', limit: 10, ttlMs: 60_000 },
] as const;

export type RateLimitGroup = (typeof RATE_LIMIT_GROUPS)[number];
export type RateLimitGroupName = RateLimitGroup['name'];

export const RATE_LIMIT_GROUP_BY_NAME: ReadonlyMap<string, RateLimitGroup> = new Map(RATE_LIMIT_GROUPS.map((group) => [group.name, group]));
