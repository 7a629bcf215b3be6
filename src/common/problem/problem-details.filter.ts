import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailable } from './database-errors.js';
import { ERROR_CODES, STATUS_CODES } from './error-codes.js';
import { FASTIFY_CODES } from './framework-errors.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from './problem-details.js';
import { ProblemException } from './problem.exception.js';
import type { RouteRegistry } from './route-registry.js';

interface ErrorWithStatus {
  statusCode?: number;
  status?: number;
  code?: string;
  message?: string;
}

/**
 * The one place where errors become HTTP answers: RFC 9457 application/problem+json with a stable
 * code and the request id. Unexpected errors are logged with the request id and answered 500
 * without internals.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('ProblemDetailsFilter');

  constructor(private readonly routes?: RouteRegistry) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const request = http.getRequest<FastifyRequest>();
    const reply = http.getResponse<FastifyReply>();
    const requestId = String(request.id);
    const problem = this.toProblem(exception, request);

    if (problem.code === 'internal_error') {
      this.logger.error({ err: exception, requestId }, 'unexpected error');
    } else if (problem.code === 'database_unavailable') {
      this.logger.warn({ err: exception, requestId }, 'database unavailable');
    }
    if (reply.sent) return;
    for (const [name, value] of Object.entries(problem.headers)) void reply.header(name, value);
    void reply
      .status(problem.status)
      .header('content-type', PROBLEM_CONTENT_TYPE)
      .header('cache-control', 'no-store')
      .send(
        problemBody(problem.code, problem.detail, requestId, {
          status: problem.status,
          errors: problem.errors,
          extensions: problem.extensions,
        }),
      );
  }

  private toProblem(exception: unknown, request: FastifyRequest) {
    const base = {
      headers: {} as Record<string, string>,
      errors: undefined as ProblemException['options']['errors'],
      extensions: undefined as Record<string, unknown> | undefined,
    };
    if (exception instanceof ProblemException) {
      return {
        ...base,
        code: exception.code,
        status: exception.status,
        detail: exception.detail,
        errors: exception.options.errors,
        headers: exception.options.headers ?? {},
        extensions: exception.options.extensions,
      };
    }
    const status = exception instanceof HttpException ? exception.getStatus() : statusOf(exception);
    // Nest wraps Fastify's 4xx errors (body parsing, media type, size) in HttpException with the cause.
    const fastifyCode = fastifyCodeOf(exception) ?? fastifyCodeOf((exception as { cause?: unknown } | undefined)?.cause) ?? '';

    if (status === 404 && exception instanceof HttpException) {
      const allowed = this.routes?.allowedMethods(request.url) ?? [];
      if (allowed.length > 0 && !allowed.includes(request.method)) {
        return {
          ...base,
          code: 'method_not_allowed' as const,
          status: 405,
          detail: `${request.method} is not allowed here; use ${allowed.join(', ')}.`,
          headers: { allow: allowed.join(', ') },
        };
      }
      return { ...base, code: 'not_found' as const, status: 404, detail: `No route for ${request.method} ${pathOf(request.url)}.` };
    }
    const known = Object.hasOwn(FASTIFY_CODES, fastifyCode) ? FASTIFY_CODES[fastifyCode] : undefined;
    if (known) {
      const limit = known.code === 'payload_too_large' ? request.routeOptions?.bodyLimit : undefined;
      const size =
        limit === undefined
          ? undefined
          : limit >= 1024 * 1024
            ? `${Math.round(limit / (1024 * 1024))} MiB`
            : `${Math.round(limit / 1024)} KiB`;
      const detail = size ? `The body is larger than the ${size} this endpoint accepts.` : known.detail;
      return { ...base, code: known.code, status: ERROR_CODES[known.code].status, detail };
    }
    if (status === 400 && exception instanceof SyntaxError) {
      return { ...base, code: 'malformed_json' as const, status: 400, detail: FASTIFY_CODES.FST_ERR_CTP_INVALID_JSON_BODY.detail };
    }
    if (status !== undefined && status >= 400 && status < 500) {
      const code = STATUS_CODES[status] ?? 'invalid_request';
      return { ...base, code, status, detail: safeDetail(exception, ERROR_CODES[code].title) };
    }
    if (isDatabaseUnavailable(exception)) {
      return {
        ...base,
        code: 'database_unavailable' as const,
        status: 503,
        detail: 'The database cannot be reached; try again shortly.',
        headers: { 'retry-after': '5' },
      };
    }
    if (status === 503) {
      return { ...base, code: 'service_unavailable' as const, status, detail: 'Try again shortly.', headers: { 'retry-after': '5' } };
    }
    return {
      ...base,
      code: 'internal_error' as const,
      status: 500,
      detail: 'Something went wrong on our side. Quote the requestId when reporting it.',
    };
  }
}

function fastifyCodeOf(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as ErrorWithStatus).code : undefined;
  return typeof code === 'string' && code.startsWith('FST_') ? code : undefined;
}

function statusOf(exception: unknown): number | undefined {
  if (typeof exception !== 'object' || exception === null) return undefined;
  const { statusCode, status } = exception as ErrorWithStatus;
  const value = statusCode ?? status;
  return typeof value === 'number' && value >= 400 && value < 600 ? value : undefined;
}

function pathOf(url: string): string {
  return (url.split('?')[0] ?? '').slice(0, 200);
}

/** Messages of framework 4xx errors are generic and safe; anything else gets the catalogue title. */
function safeDetail(exception: unknown, fallback: string): string {
  if (exception instanceof HttpException) {
    const response = exception.getResponse();
    const message = typeof response === 'string' ? response : (response as { message?: unknown }).message;
    if (typeof message === 'string' && message.length < 300) return message;
  }
  return fallback;
}
