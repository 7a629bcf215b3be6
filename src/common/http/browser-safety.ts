import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import helmet, { type HelmetOptions } from 'helmet';

const HELMET_OPTIONS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: {
    directives: {
      defaultSrc: ["'self'"],
      scriptSrc: ["'self'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
      objectSrc: ["'none'"],
      baseUri: ["'self'"],
    },
  },
  crossOriginResourcePolicy: { policy: 'same-site' },
  referrerPolicy: { policy: 'no-referrer' },
};

/**
 * The security headers helmet sets, computed once at start-up. Our policy does not vary per request,
 * and @fastify/helmet rebuilds and re-parses it on every request (measured: 30–150 µs each, the
 * largest single cost in the request pipeline; see docs/benchmark.md). The app's one onRequest hook
 * (src/app.factory.ts) puts them on every response.
 */
export function securityHeaders(options: Readonly<HelmetOptions> = HELMET_OPTIONS): Readonly<Record<string, string>> {
  const headers: Record<string, string> = {};
  const response = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  } as unknown as ServerResponse;
  let failure: unknown;
  helmet(options)({} as IncomingMessage, response, (error?: unknown) => {
    failure = error;
  });
  if (failure) throw failure instanceof Error ? failure : new Error(String(failure));
  return headers;
}

/**
 * Browser-facing protections: CORS for exactly FRONTEND_ORIGINS, with credentials, so only the
 * registered frontends can call the API with the session cookie. (The security headers,
 * securityHeaders(), are set by the app's one onRequest hook.)
 */
export async function applyBrowserSafety(app: NestFastifyApplication, frontendOrigins: string[]): Promise<void> {
  const allowed = new Set(frontendOrigins);
  app.enableCors({
    origin: (origin, callback) => callback(null, origin === undefined ? false : allowed.has(origin)),
    credentials: true,
    methods: ['GET', 'POST', 'PUT', 'DELETE'],
    allowedHeaders: ['content-type', 'x-csrf', 'authorization', 'idempotency-key', 'x-request-id', 'x-challenge-token'],
    exposedHeaders: ['x-request-id', 'retry-after', 'location'],
    maxAge: 600,
  });
}
