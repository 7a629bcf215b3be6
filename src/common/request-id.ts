import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The longest client-sent X-Request-Id kept (as `clientRequestId`); longer ones are cut to this. */
export const CLIENT_REQUEST_ID_MAX = 128;

export type RawRequestWithIds = IncomingMessage & { id?: string; clientRequestId?: string };

/**
 * Fastify's genReqId: the request id is always ours (a UUID), so a client can neither choose the id
 * our logs, audit rows and problem answers carry nor make two requests share one. A client-sent
 * `X-Request-Id` is kept beside it as `clientRequestId` (see clientRequestIdOf), for correlation in
 * the request log line only. The id is also put on the raw request for pino-http.
 */
export function requestIdFor(raw: IncomingMessage): string {
  const id = randomUUID();
  const withIds = raw as RawRequestWithIds;
  withIds.id = id;
  const clientId = clientRequestIdOf(raw.headers['x-request-id']);
  if (clientId !== undefined) withIds.clientRequestId = clientId;
  return id;
}

/**
 * A client's X-Request-Id made safe to log: characters outside `A-Z a-z 0-9 . _ : -` become `_`,
 * at most CLIENT_REQUEST_ID_MAX characters, only the first of repeated headers; empty → undefined.
 */
export function clientRequestIdOf(header: string | string[] | undefined): string | undefined {
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || value === '') return undefined;
  return value.slice(0, CLIENT_REQUEST_ID_MAX).replace(/[^A-Za-z0-9._:-]/g, '_');
}
