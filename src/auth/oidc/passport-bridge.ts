import type { FastifyRequest } from 'fastify';
import { Authenticator, type Strategy } from 'passport';
import type { OidcRequest } from './oidc-request.js';

/** How one passport run ended. */
export type PassportOutcome =
  | { kind: 'success'; user: unknown; info: unknown }
  | { kind: 'fail'; challenge: unknown; status: number | undefined }
  | { kind: 'redirect'; url: string; status: number }
  | { kind: 'error'; error: unknown };

/** A private Authenticator: nothing global, no sessions (`session: false` on every run). */
const passport = new Authenticator();

/** The Express-shaped request passport-openidconnect reads: query, headers, method, url. */
export function toOidcRequest(request: FastifyRequest, browserBinding: string | undefined): OidcRequest {
  return {
    method: request.method,
    url: request.url,
    headers: request.headers,
    query: { ...(request.query as Record<string, unknown>) },
    browserBinding,
  };
}

/**
 * The one bridge between passport's Express-style (req, res, next) and Fastify. passport runs the
 * strategy against an Express-shaped request and a stand-in response that only records a redirect;
 * every way the run can end (success, fail, redirect, error, pass) becomes one resolved outcome, so
 * the caller answers through Fastify and decides what a redirect means (302, or JSON for POST).
 */
export function runPassport(strategy: Strategy, request: OidcRequest, options: object): Promise<PassportOutcome> {
  return new Promise<PassportOutcome>((resolve) => {
    let settled = false;
    const finish = (outcome: PassportOutcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    request.abort = (error) => finish({ kind: 'error', error });
    const headers: Record<string, string> = {};
    const response = {
      statusCode: 200,
      setHeader(name: string, value: string) {
        headers[name.toLowerCase()] = String(value);
      },
      end() {
        const url = headers.location;
        finish(
          url
            ? { kind: 'redirect', url, status: response.statusCode }
            : { kind: 'error', error: new Error('passport ended the response without a redirect') },
        );
      },
    };
    const middleware = passport.authenticate(
      strategy,
      { ...options, session: false },
      (error: unknown, user: unknown, info: unknown, status: unknown) => {
        if (error) finish({ kind: 'error', error });
        else if (user) finish({ kind: 'success', user, info });
        else finish({ kind: 'fail', challenge: info, status: typeof status === 'number' ? status : undefined });
      },
    ) as (req: unknown, res: unknown, next: (error?: unknown) => void) => void;
    try {
      middleware(request, response, (error?: unknown) =>
        finish(error ? { kind: 'error', error } : { kind: 'error', error: new Error('passport passed without a decision') }),
      );
    } catch (error) {
      finish({ kind: 'error', error });
    }
  });
}

/**
 * Runs a passport callback from a settled promise; a throw inside it ends the passport run (through
 * `request.abort`, set by runPassport) instead of escaping as an unhandled rejection.
 */
export function settle(request: OidcRequest, run: () => void): void {
  try {
    run();
  } catch (error) {
    request.abort?.(error);
  }
}

/** A rejection reason as the Error passport callbacks expect. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
