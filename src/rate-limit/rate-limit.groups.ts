/** The limited route groups: requests per client IP per minute. The Mydex callback is not limited by IP. */
export const RATE_LIMIT_GROUPS = [
  { name: 'registrations', prefix: '/v1/registrations', limit: 20 },
  { name: 'validation', prefix: '/v1/validation/', limit: 300 },
  { name: 'auth', prefix: '/v1/auth/', limit: 60 },
] as const;

export const RATE_LIMIT_PREFIXES: readonly string[] = RATE_LIMIT_GROUPS.map((group) => group.prefix);

/** The request's path, without the query string. */
export const pathOf = (request: { url?: string }): string => (request.url ?? '').split('?')[0] ?? '';
