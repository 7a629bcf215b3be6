import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { errorCodes } from 'fastify';
import qs from 'qs';

/** Routes that accept `application/x-www-form-urlencoded`; every other route answers such a body with 415. */
const FORM_BODY_ROUTES: ReadonlySet<string> = new Set(['/v1/connections/callback', '/v1/auth/oidc/backchannel-logout']);

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
    done(null, parseCallbackForm(body));
  });
}
