import { isUtf8 } from 'node:buffer';
import type { Server } from 'node:http';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { FASTIFY_ROUTE_CONFIG_METADATA } from '@nestjs/platform-fastify/constants.js';
import type { FastifyInstance, FastifyRequest, RouteOptions } from 'fastify';
import { ProblemException } from '../problem/problem.exception.js';

/**
 * What a route accepts as a request body, enforced before any of our code (DTO, class-transformer,
 * guard) sees the body:
 *
 * - `bytes`: the body size (Fastify's per-route `bodyLimit`; over it → 413 `payload_too_large`);
 * - `keys`: object keys plus array items, summed over the whole JSON document;
 * - `depth`: how deeply objects and arrays nest (`{}` is depth 1).
 *
 * Over `keys` or `depth` → 413 `body_too_complex`. Why: class-transformer (the ValidationPipe's
 * `transform`) is quadratic in the number of keys and recursive in the depth, so one 1 MiB body of
 * 90,000 keys held the event loop for seconds and a deep one overflowed the stack (500).
 */
export interface BodyLimitSettings {
  bytes: number;
  keys: number;
  depth: number;
}

/**
 * Every route unless it declares otherwise (`@BodyLimits`): 16 KiB is the largest body a
 * non-callback route can legitimately need (two 2,048-character URLs in multi-byte UTF-8 plus an
 * email, a password and a MydexID); their DTOs are flat objects of at most seven fields.
 */
export const DEFAULT_BODY_LIMITS: Readonly<BodyLimitSettings> = { bytes: 16 * 1024, keys: 256, depth: 8 };

/**
 * Mydex's First Time Connection callback: `fields` lists every dataset and field the member shared,
 * in PHP-style nesting (`fields[ds][0][][access][r][a]` is 7 levels), so it gets 1 MiB and far more
 * room than any delivery we know of [I]. A legitimate delivery must never be refused for its size.
 */
export const CALLBACK_BODY_LIMITS: Readonly<BodyLimitSettings> = { bytes: 1024 * 1024, keys: 50_000, depth: 32 };

/** The key of the limits in a route's Fastify `config` (read by the onRoute hook and the parser). */
const CONFIG_KEY = 'bodyLimits';

/**
 * Declares a route's body limits; the rest stay DEFAULT_BODY_LIMITS. Stored in the route's Fastify
 * config (the metadata Nest's FastifyAdapter reads when it registers the route), merged with any
 * config a decorator below it set there (Nest's own `@RouteConfig` replaces the whole config, so it
 * goes below this one). test/body-limits.e2e-spec.ts lists the routes allowed more than the default.
 */
export function BodyLimits(limits: Partial<BodyLimitSettings>): MethodDecorator {
  return (_target, _key, descriptor) => {
    const handler = descriptor.value as object;
    const existing = (Reflect.getMetadata(FASTIFY_ROUTE_CONFIG_METADATA, handler) ?? {}) as Record<string, unknown>;
    Reflect.defineMetadata(FASTIFY_ROUTE_CONFIG_METADATA, { ...existing, [CONFIG_KEY]: { ...DEFAULT_BODY_LIMITS, ...limits } }, handler);
    return descriptor;
  };
}

/** A registered route that can carry a body, with its limits (for the audit and the tests). */
export interface BodyRoute {
  method: string;
  url: string;
  limits: Readonly<BodyLimitSettings>;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const bodyRoutes = new WeakMap<FastifyInstance, BodyRoute[]>();

/** Every registered POST/PUT/PATCH/DELETE route of an app and its body limits. */
export function bodyRoutesOf(app: NestFastifyApplication): readonly BodyRoute[] {
  return bodyRoutes.get(app.getHttpAdapter().getInstance()) ?? [];
}

function limitsOf(request: FastifyRequest): Readonly<BodyLimitSettings> {
  const config = request.routeOptions.config as { [CONFIG_KEY]?: BodyLimitSettings } | undefined;
  return config?.[CONFIG_KEY] ?? DEFAULT_BODY_LIMITS;
}

/**
 * Installs the body limits on the BFF (app.factory.ts, before routes are registered): an onRoute
 * hook gives every route its byte limit (Fastify's `bodyLimit`, which also bounds the callback's
 * form parser), and the JSON parser refuses, before parsing, a body that is not UTF-8, holds an
 * unpaired surrogate, or is too complex. Parsing itself stays Fastify's secure-json-parse, which
 * refuses `__proto__` and `constructor.prototype` keys.
 */
export function installBodyLimits(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  const routes: BodyRoute[] = [];
  bodyRoutes.set(fastify, routes);
  fastify.addHook('onRoute', (route: RouteOptions) => {
    const config = (route.config ?? {}) as Record<string, unknown>;
    const limits = (config[CONFIG_KEY] as BodyLimitSettings | undefined) ?? DEFAULT_BODY_LIMITS;
    route.config = { ...config, [CONFIG_KEY]: limits };
    route.bodyLimit = limits.bytes;
    for (const method of Array.isArray(route.method) ? route.method : [route.method]) {
      if (BODY_METHODS.has(method)) routes.push({ method, url: route.url, limits });
    }
  });

  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  app.useBodyParser<Server>('application/json', { bodyLimit: DEFAULT_BODY_LIMITS.bytes }, (request, body, done) => {
    // The shape first, on the bytes: a hostile body is refused before it is decoded or parsed.
    const problem =
      jsonShapeProblem(body, limitsOf(request)) ??
      (isUtf8(body) ? undefined : new ProblemException('invalid_unicode', 'The body is not valid UTF-8.'));
    if (problem) done(problem, undefined);
    // Synchronous: it calls done itself. An empty body stays Fastify's answer (400 malformed_json).
    else void parseJson(request, body.toString('utf8'), done);
  });
}

/**
 * One pass over the JSON bytes, before they are decoded or parsed: the problem to answer, or
 * undefined. Counts nesting and entries outside strings, and checks every `\uXXXX` escape inside
 * strings, keys included, for a UTF-16 surrogate without its pair: such a string is not Unicode,
 * and libraries that encode it throw (validator's isEmail calls encodeURI: that was the 500). A raw
 * surrogate cannot occur in valid UTF-8, which the caller checks next. The bytes are not validated
 * as JSON here; the parser that runs after does that.
 */
export function jsonShapeProblem(bytes: Uint8Array, limits: Readonly<BodyLimitSettings>): ProblemException | undefined {
  const inArray: boolean[] = [];
  let depth = 0;
  let keys = 0;
  // Just after '[': the next non-space byte other than ']' is the array's first item.
  let arrayOpened = false;
  const n = bytes.length;
  for (let i = 0; i < n; i++) {
    const c = bytes[i]!;
    if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) continue;
    if (arrayOpened) {
      arrayOpened = false;
      if (c !== 0x5d) keys++;
    }
    switch (c) {
      case 0x22: {
        // A string: find its end, checking \u escapes. (A plain loop: faster than memchr on the
        // many short strings of a hostile body, about 1.5 ms per MB.)
        for (i++; i < n; i++) {
          const s = bytes[i]!;
          if (s === 0x22) break;
          if (s !== 0x5c) continue;
          if (bytes[i + 1] !== 0x75) {
            i++;
            continue;
          }
          const unit = hex4(bytes, i + 2);
          if (unit >= 0xd800 && unit <= 0xdbff) {
            const next = bytes[i + 6] === 0x5c && bytes[i + 7] === 0x75 ? hex4(bytes, i + 8) : -1;
            if (next < 0xdc00 || next > 0xdfff) return loneSurrogate();
            i += 11;
          } else if (unit >= 0xdc00 && unit <= 0xdfff) {
            return loneSurrogate();
          } else {
            i += 5;
          }
        }
        break;
      }
      case 0x7b: // {
      case 0x5b: // [
        depth++;
        if (depth > limits.depth) return tooComplex(`nested deeper than ${limits.depth} levels`);
        inArray.push(c === 0x5b);
        arrayOpened = c === 0x5b;
        break;
      case 0x7d: // }
      case 0x5d: // ]
        depth--;
        inArray.pop();
        break;
      case 0x3a: // : one object key
        if (++keys > limits.keys) return tooManyKeys(limits);
        break;
      case 0x2c: // , another array item
        if (inArray[inArray.length - 1] === true && ++keys > limits.keys) return tooManyKeys(limits);
        break;
      default:
        break;
    }
  }
  return keys > limits.keys ? tooManyKeys(limits) : undefined;
}

function tooManyKeys(limits: Readonly<BodyLimitSettings>): ProblemException {
  return tooComplex(`more than ${limits.keys} keys and array items`);
}

function tooComplex(what: string): ProblemException {
  return new ProblemException('body_too_complex', `The body is ${what}; this endpoint accepts no more.`);
}

function loneSurrogate(): ProblemException {
  return new ProblemException(
    'invalid_unicode',
    'A string in the body has an unpaired UTF-16 surrogate (\\uD800-\\uDFFF), which is not Unicode text.',
  );
}

/** The value of four hex digits at `at`, or -1. */
function hex4(bytes: Uint8Array, at: number): number {
  let value = 0;
  for (let k = at; k < at + 4; k++) {
    const c = bytes[k] ?? -1;
    const digit = c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x61 && c <= 0x66 ? c - 0x57 : c >= 0x41 && c <= 0x46 ? c - 0x37 : -1;
    if (digit < 0) return -1;
    value = value * 16 + digit;
  }
  return value;
}
