/**
 * Whether an error means "the database cannot be reached right now" rather than a bug: the server
 * refused or dropped the connection, or is shutting down or starting up. Such requests are answered
 * 503 database_unavailable with Retry-After (a client may retry), never 500.
 */

/** Node socket errors from the pg driver's connect or an in-flight query. */
const SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
/** PostgreSQL SQLSTATEs: connection exceptions (08…), admin/crash shutdown and "starting up" (57P0…). */
const SQLSTATES = /^(08\d{3}|57P0[1-4]|53300)$/;
/** SQLite gave up waiting for a lock (after busy_timeout). */
const SQLITE_CODES = new Set(['SQLITE_BUSY', 'SQLITE_LOCKED']);
/** The pg driver and pool signal these without a code. */
const MESSAGES =
  /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error and is not queryable|Connection terminated unexpectedly)/;

export function isDatabaseUnavailable(error: unknown, depth = 0): boolean {
  if (typeof error !== 'object' || error === null || depth > 4) return false;
  const { code, message, driverError, cause } = error as { code?: unknown; message?: unknown; driverError?: unknown; cause?: unknown };
  // An outbound HTTP call (Mydex) fails with the same socket codes under `cause`: not the database.
  if (message === 'fetch failed') return false;
  if (typeof code === 'string' && (SOCKET_CODES.has(code) || SQLSTATES.test(code) || SQLITE_CODES.has(code))) return true;
  if (typeof message === 'string' && MESSAGES.test(message)) return true;
  if (error instanceof AggregateError && error.errors.some((inner) => isDatabaseUnavailable(inner, depth + 1))) return true;
  return isDatabaseUnavailable(driverError, depth + 1) || isDatabaseUnavailable(cause, depth + 1);
}
