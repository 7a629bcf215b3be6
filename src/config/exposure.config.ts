import { registerAs } from '@nestjs/config';
import { type EnvironmentVariables, validateEnvironment } from './environment.js';

/**
 * How `/metrics` is reached on the main port:
 * - `token`: only with `Authorization: Bearer <METRICS_TOKEN>` (any environment where it is set);
 * - `public`: development and test without a token, as before;
 * - `off`: production without a token: 404, as if the route did not exist (use METRICS_PORT, or set
 *   METRICS_TOKEN). The BFF still starts: metrics are an operator's convenience, not a reason to be
 *   down.
 */
export type MainPortMetrics = 'token' | 'public' | 'off';

export function mainPortMetrics(env: Pick<EnvironmentVariables, 'NODE_ENV' | 'METRICS_TOKEN'>): MainPortMetrics {
  if (env.METRICS_TOKEN !== undefined) return 'token';
  return env.NODE_ENV === 'production' ? 'off' : 'public';
}

/** Whether `/docs`, `/openapi.json` and `/openapi.yaml` are served: API_DOCS decides; unset, everywhere but production. */
export function apiDocsEnabled(env: Pick<EnvironmentVariables, 'NODE_ENV' | 'API_DOCS'>): boolean {
  if (env.API_DOCS !== undefined) return env.API_DOCS === 'on';
  return env.NODE_ENV !== 'production';
}

/** What the BFF exposes besides its API: metrics (main port and the separate listener). docs/operations.md. */
export const exposureConfig = registerAs('exposure', () => {
  const env = validateEnvironment(process.env);
  return {
    mainPortMetrics: mainPortMetrics(env),
    metricsToken: env.METRICS_TOKEN,
    /** A separate listener serving only GET /metrics, without a token; undefined: none. */
    metricsListener: env.METRICS_PORT === undefined ? undefined : { port: env.METRICS_PORT, host: env.METRICS_HOST },
  };
});
