import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { STATUS_CODES, type ErrorCode } from './error-codes.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem-details.js';

/**
 * Problem+json for the answers Nest's exception filter never sees: the router's own refusals (a
 * malformed percent-encoding, an over-long route parameter) arrive before any route, and routes
 * that plugins register outside Nest (the CORS preflight, the Swagger UI) keep Fastify's default
 * error handler, which writes `{statusCode, code: "FST_…"}` or plain text. The fuzz suite found both.
 */

/** Fastify's `frameworkErrors` option: the router refused the URL before routing. */
export function frameworkErrorProblem(error: FastifyError, request: FastifyRequest, reply: FastifyReply): void {
  const tooLong = error.code === 'FST_ERR_MAX_PARAM_LENGTH';
  const code: ErrorCode = tooLong ? 'uri_too_long' : 'invalid_request';
  const detail = tooLong ? 'A path segment is longer than any this API accepts.' : 'The URL is not valid (check its percent-encoding).';
  void reply
    .status(tooLong ? 414 : 400)
    .header('x-request-id', request.id)
    .header('content-type', PROBLEM_CONTENT_TYPE)
    .header('cache-control', 'no-store')
    .send(problemBody(code, detail, String(request.id)));
}

/** Fastify's body-parsing refusals (`FST_ERR_CTP_*`) as problem code and detail; the status is the code's. */
export const FASTIFY_CODES: Readonly<Record<string, { code: ErrorCode; detail: string }>> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { code: 'unsupported_media_type', detail: 'Send the body as application/json.' },
  FST_ERR_CTP_BODY_TOO_LARGE: { code: 'payload_too_large', detail: 'The body is larger than this endpoint accepts.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'malformed_json', detail: 'The body could not be parsed as JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'malformed_json', detail: 'The body could not be parsed as JSON.' },
};

/**
 * A last-step `onSend` hook: any error answer that is not yet problem+json (written by a plugin
 * route or Fastify's default error handler) is rewritten into one, without internals.
 */
export function rewriteNonProblemErrors(fastify: FastifyInstance): void {
  fastify.addHook('onSend', (request, reply, payload, done) => {
    const status = reply.statusCode;
    if (status < 400 || String(reply.getHeader('content-type') ?? '').startsWith(PROBLEM_CONTENT_TYPE)) return done(null, payload);
    const fastifyCode = typeof payload === 'string' ? /"code":"(FST_[A-Z_]+)"/.exec(payload)?.[1] : undefined;
    const known = fastifyCode ? FASTIFY_CODES[fastifyCode] : undefined;
    const code: ErrorCode =
      known?.code ??
      (status >= 500 ? (status === 503 ? 'service_unavailable' : 'internal_error') : (STATUS_CODES[status] ?? 'invalid_request'));
    const detail =
      known?.detail ??
      (status >= 500 ? 'Something went wrong on our side. Quote the requestId when reporting it.' : 'The request is not valid here.');
    reply.removeHeader('content-length');
    void reply.header('content-type', PROBLEM_CONTENT_TYPE).header('cache-control', 'no-store');
    done(null, JSON.stringify(problemBody(code, detail, String(request.id), { status })));
  });
}
