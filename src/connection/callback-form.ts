import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { errorCodes, type FastifyError, type FastifyReply, type FastifyRequest, type RouteOptions } from 'fastify';
import { Transform } from 'node:stream';
import qs from 'qs';
import { BACKCHANNEL_LOGOUT, CONNECTION_CALLBACK } from '../common/http/routes.js';

/** Mydex's connection callback. */
export const CALLBACK_ROUTE = CONNECTION_CALLBACK.path;

/** Routes that accept `application/x-www-form-urlencoded`; every other route answers such a body with 415. */
const FORM_BODY_ROUTES: ReadonlySet<string> = new Set([CONNECTION_CALLBACK.path, BACKCHANNEL_LOGOUT.path]);

/**
 * Limits for Mydex's PHP-style nested keys (`fields[ds][0][][access][r][a]=1` is 7 levels deep).
 * Exceeding one is refused, never silently truncated: a truncated delivery would store the wrong
 * permissions.
 */
export const FORM_LIMITS = { depth: 10, parameterLimit: 5000, arrayLimit: 200 } as const;

/**
 * A form body that could not be parsed. The parser hands it on instead of failing, so that the
 * callback's guard still runs first (an unauthenticated caller learns nothing about parsing) and the
 * route answers 400 `malformed_form`.
 */
export class MalformedForm {
  constructor(readonly reason: string) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Parses a form body with qs: strict UTF-8 (raw bytes and percent-escapes), bounded depth, parameter
 * count and array size. A repeated key becomes a list (qs `duplicates: 'combine'`), so `uid=1&uid=2`
 * is a list that fails validation rather than a silent first-or-last pick.
 */
export function parseCallbackForm(raw: Buffer): Record<string, unknown> | MalformedForm {
  let text: string;
  try {
    text = utf8.decode(raw);
  } catch {
    return new MalformedForm('The form body is not valid UTF-8.');
  }
  try {
    return qs.parse(text, {
      depth: FORM_LIMITS.depth,
      strictDepth: true,
      parameterLimit: FORM_LIMITS.parameterLimit,
      arrayLimit: FORM_LIMITS.arrayLimit,
      throwOnLimitExceeded: true,
      duplicates: 'combine',
      allowPrototypes: false,
      allowDots: false,
      charset: 'utf-8',
      decoder: strictDecode,
    }) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof URIError) return new MalformedForm('The form body has an invalid percent-escape or one that is not UTF-8.');
    if (error instanceof RangeError) return new MalformedForm(`The form body exceeds a limit: ${limitName(error.message)}.`);
    throw error;
  }
}

/** Like qs's own decoder, but an invalid escape (`%FF`, `%E2%82`, a lone surrogate) throws instead of being kept. */
function strictDecode(value: string): string {
  const spaced = value.replace(/\+/g, ' ');
  return spaced.includes('%') ? decodeURIComponent(spaced) : spaced;
}

function limitName(message: string): string {
  if (/depth/i.test(message)) return `nesting deeper than ${FORM_LIMITS.depth} levels`;
  if (/parameter/i.test(message)) return `more than ${FORM_LIMITS.parameterLimit} parameters`;
  if (/array/i.test(message)) return `a list longer than ${FORM_LIMITS.arrayLimit} items`;
  return 'too large';
}

/**
 * Registers the form parser on the BFF (app.factory.ts), in place of Nest's default form parser, which
 * would accept form bodies on every route. Only FORM_BODY_ROUTES get a parsed body; anywhere else the
 * same 415 error Fastify raises for an unknown content type.
 */
export function registerCallbackFormParser(app: NestFastifyApplication): void {
  app.useBodyParser('application/x-www-form-urlencoded', {}, (request, body, done) => {
    if (!FORM_BODY_ROUTES.has(request.routeOptions.url ?? '')) {
      done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(String(request.headers['content-type'] ?? '')), undefined);
      return;
    }
    if (request.routeOptions.url === CALLBACK_ROUTE) rawBodies.set(request as FastifyRequest, body);
    done(null, parseCallbackForm(body));
  });
  keepUnparsedCallbacks(app);
}

/**
 * The raw bytes of a callback body, for the deliveries that are refused yet kept (sealed) for the
 * operator: a form's from the form parser, any other body's from the preParsing hook below.
 */
const rawBodies = new WeakMap<FastifyRequest, Buffer>();

export function rawCallbackBody(request: FastifyRequest): Buffer | undefined {
  return rawBodies.get(request);
}

/** Why a callback body could not be parsed at all (the JSON parser's refusals), by error code. */
const UNPARSED_REASONS: Readonly<Record<string, string>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'malformed_json',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'malformed_json',
  malformed_json: 'malformed_json',
  invalid_unicode: 'invalid_unicode',
  body_too_complex: 'body_too_complex',
};

/** Keeps an unparsed callback body when the caller is admitted (ConnectionCallbackController registers it). */
export type UnparsedCallbackSink = (request: FastifyRequest, raw: Buffer | undefined, reason: string) => Promise<void>;
const sinks = new WeakMap<object, UnparsedCallbackSink>();

export function onUnparsedCallback(fastify: object, sink: UnparsedCallbackSink): void {
  sinks.set(fastify, sink);
}

/** Why a caller may not deliver a callback (the guard's refusal), checked before its body is read. */
export type CallbackAdmission = (request: FastifyRequest) => Error | undefined;
const admissions = new WeakMap<object, CallbackAdmission>();

export function admitCallbacksWith(fastify: object, admission: CallbackAdmission): void {
  admissions.set(fastify, admission);
}

/**
 * A body the JSON parser refuses never reaches the route (nor its guard), yet an authenticated one
 * must be kept (issue 14 §1). On the callback route only: a preParsing hook copies the bytes of a
 * non-form body as they stream to the parser (bounded by the body limit, which Fastify enforces on
 * the same stream), and an onError hook, awaited before the problem is answered, hands a parser
 * refusal to the sink, which checks the caller exactly as the guard does before keeping anything.
 */
function keepUnparsedCallbacks(app: NestFastifyApplication): void {
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRoute', (route: RouteOptions) => {
    if (route.url !== CALLBACK_ROUTE) return;
    const list = <T>(hooks: T | T[] | undefined): T[] => (hooks === undefined ? [] : Array.isArray(hooks) ? hooks : [hooks]);
    // The caller is checked before its body is read: an unauthenticated or unlisted sender gets its
    // 401/403 without the server parsing up to 1 MiB and 50,000 keys for it (the guard checks again).
    route.onRequest = [
      ...list(route.onRequest),
      (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => done(admissions.get(fastify)?.(request)),
    ] as RouteOptions['onRequest'];
    route.preParsing = [...list(route.preParsing), copyRawBody] as RouteOptions['preParsing'];
    route.onError = [
      ...list(route.onError),
      async (request: FastifyRequest, _reply: FastifyReply, error: FastifyError) => {
        const reason = UNPARSED_REASONS[error.code] ?? UNPARSED_REASONS[(error as unknown as { code?: string }).code ?? ''];
        const sink = sinks.get(fastify);
        if (reason === undefined || sink === undefined) return;
        await sink(request, rawBodies.get(request), reason);
      },
    ] as RouteOptions['onError'];
  });
}

function copyRawBody(
  request: FastifyRequest,
  reply: FastifyReply,
  payload: NodeJS.ReadableStream,
  done: (error: Error | null, payload?: NodeJS.ReadableStream) => void,
): void {
  // Only JSON goes through the parser this copies for; a form's parser has the bytes already.
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(String(request.headers['content-type'] ?? ''))) return done(null, payload);
  const chunks: Buffer[] = [];
  let size = 0;
  const limit = request.routeOptions.bodyLimit ?? 1024 * 1024;
  const copy = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (size <= limit) {
        chunks.push(chunk);
        size += chunk.length;
      }
      callback(null, chunk);
    },
    flush(callback) {
      if (size <= limit) rawBodies.set(request, Buffer.concat(chunks));
      callback();
    },
  });
  payload.on('error', (error) => copy.destroy(error));
  // A body the parser never reads (refused by its length first) must still drain once the answer is
  // sent, or the keep-alive connection stalls behind it.
  reply.raw.once('finish', () => {
    if (!copy.readableEnded) copy.resume();
  });
  done(null, payload.pipe(copy));
}
