import type { IncomingHttpHeaders } from 'node:http';
import type { OidcTransaction } from './oidc-transaction.entity.js';

/**
 * The Express-shaped request passport and passport-openidconnect see (built from Fastify's request in
 * passport-bridge.ts), plus what the relying party carries through one passport run.
 */
export interface OidcRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  query: Record<string, unknown>;
  /** The secret in the browser's transaction-binding cookie, when it sent one. */
  browserBinding: string | undefined;
  /** Set by the state store once the callback's transaction is found (consumed or not). */
  transaction?: OidcTransaction;
  /** Ends the passport run with an error; for failures raised inside callbacks passport does not catch. */
  abort?: (error: unknown) => void;
}
