import { randomUUID } from 'node:crypto';
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyInstance } from 'fastify';
import type { ErrorCode } from '../problem/error-codes.js';
import { ERROR_CODES } from '../problem/error-codes.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../problem/problem-details.js';

/**
 * Node's HTTP parser refuses some requests before Fastify or Nest see them (headers over
 * `maxHeaderSize`, 16 KiB by default; a malformed request line; a request not received within
 * `requestTimeout`) and emits `clientError` on the server. Fastify's default handler answers those
 * with its own JSON shape; this one answers problem+json with a catalogued code, when the server
 * can still answer: the socket is writable and no response on it has started (Node's own rule).
 */
const BY_NODE_CODE: Readonly<Record<string, { code: ErrorCode; detail: string }>> = {
  HPE_HEADER_OVERFLOW: {
    code: 'request_header_fields_too_large',
    detail: 'The request line and headers together are larger than this server accepts.',
  },
  HPE_CHUNK_EXTENSIONS_OVERFLOW: {
    code: 'payload_too_large',
    detail: 'The chunk extensions of the body are larger than this server accepts.',
  },
  ERR_HTTP_REQUEST_TIMEOUT: { code: 'request_timeout', detail: 'The request was not received in time.' },
};
const OTHERWISE = { code: 'invalid_request' as const, detail: 'The request could not be read as HTTP/1.1.' };

/** The raw HTTP answer for a client error (status line, headers and problem+json body). */
export function clientErrorResponse(nodeCode: string | undefined, requestId: string = randomUUID()): string {
  const { code, detail } =
    (nodeCode !== undefined && Object.hasOwn(BY_NODE_CODE, nodeCode) ? BY_NODE_CODE[nodeCode] : undefined) ?? OTHERWISE;
  const status = ERROR_CODES[code].status;
  const body = JSON.stringify(problemBody(code, detail, requestId));
  return [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}`,
    `content-type: ${PROBLEM_CONTENT_TYPE}`,
    `content-length: ${Buffer.byteLength(body)}`,
    'cache-control: no-store',
    `x-request-id: ${requestId}`,
    'connection: close',
    '',
    body,
  ].join('\r\n');
}

/** Fastify's `clientErrorHandler` option (called with the Fastify instance as `this`). */
export function clientErrorProblem(this: FastifyInstance, error: Error & { code?: string }, socket: Socket): void {
  // A reset connection has nobody to answer.
  if (error.code === 'ECONNRESET' || socket.destroyed) return;
  const inFlight = (socket as Socket & { _httpMessage?: { headersSent?: boolean } | null })._httpMessage;
  if (socket.writable && !inFlight?.headersSent) {
    const requestId = randomUUID();
    this.log.debug({ requestId, code: error.code }, 'client error answered before routing');
    socket.write(clientErrorResponse(error.code, requestId));
  }
  socket.destroy(error);
}
