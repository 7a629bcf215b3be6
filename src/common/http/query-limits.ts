import type { FastifyInstance } from 'fastify';
import { ProblemException } from '../problem/problem.exception.js';

/**
 * At most this many query parameters on any request. A query DTO (`@Query()`) goes through the
 * ValidationPipe's class-transformer, which is quadratic in the number of keys; Node's 16 KiB header
 * limit allows about 2,000 parameters, which cost tens of milliseconds each request. No route takes
 * more than a handful (the OIDC callback: state, code, iss, error, error_description, session_state
 * [I]).
 */
export const MAX_QUERY_PARAMETERS = 100;

/**
 * The refusal for a URL whose query string has more than MAX_QUERY_PARAMETERS parameters (414
 * `uri_too_long`), or undefined. Called first thing in the app's one onRequest hook
 * (src/app.factory.ts), before routing work.
 */
export function queryLimitProblem(url: string): ProblemException | undefined {
  const start = url.indexOf('?');
  if (start >= 0 && url.length - start > MAX_QUERY_PARAMETERS) {
    let parameters = 1;
    for (let i = start + 1; i < url.length; i++) if (url.charCodeAt(i) === 0x26) parameters++;
    if (parameters > MAX_QUERY_PARAMETERS)
      return new ProblemException('uri_too_long', `The query string has more than ${MAX_QUERY_PARAMETERS} parameters.`);
  }
  return undefined;
}

/** queryLimitProblem as an onRequest hook of its own (the app folds it into its one hook instead). */
export function installQueryLimits(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    done(queryLimitProblem(request.url));
  });
}
