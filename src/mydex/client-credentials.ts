import { Logger } from '@nestjs/common';
import { ProblemException } from '../common/problem/problem.exception.js';
import { parseJson, retryAfterSeconds } from './mydex-answers.js';
import { basicAuthorization, exchange, MydexTransportError } from './mydex-http.js';
import type { UpstreamObserver } from './mydex-http.js';

export interface ClientCredentialsSettings {
  /** Where to ask: MydexOidcProvider.tokenEndpoint() (MYDEX_TOKEN_URL, else issuer-checked discovery). */
  tokenEndpoint: () => Promise<string>;
  clientId: string;
  clientSecret: string;
  timeoutMs: number;
  /** `mydex:pdx` for the PDX API. [S] */
  scope: string;
  observe?: UpstreamObserver;
}

interface CachedToken {
  value: string;
  /** When to stop using it: shortly before Mydex's `expires_in` runs out. */
  renewAt: number;
}

/** Seconds before `expires_in` at which a token is renewed (a tenth of the lifetime when that is shorter). */
const RENEW_MARGIN_S = 60;
/** Mydex documents 3600 s; used when an answer leaves `expires_in` out. [S] */
const DEFAULT_LIFETIME_S = 3600;

/**
 * The OAuth2 client-credentials token (scope `mydex:pdx`) the PDX API wants as `Authorization: Bearer`.
 * Cached until shortly before it expires, with one refresh in flight at a time however many requests
 * need it. The token endpoint comes from the one discovery client (MydexOidcProvider.tokenEndpoint():
 * MYDEX_TOKEN_URL, else the issuer-checked discovery document, else `{issuer}/oauth2/token`).
 */
export class ClientCredentialsTokens {
  private readonly logger = new Logger('MydexClient');
  private cached?: CachedToken;
  private inflight?: Promise<CachedToken>;

  constructor(
    private readonly settings: ClientCredentialsSettings,
    private readonly now: () => number = Date.now,
  ) {}

  /** A valid bearer token, from the cache when it has time left. */
  async get(): Promise<string> {
    if (this.cached && this.now() < this.cached.renewAt) return this.cached.value;
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return (await this.inflight).value;
  }

  /** Forget the cached token (Mydex refused it), so the next call asks for a new one. */
  invalidate(token: string): void {
    if (this.cached?.value === token) this.cached = undefined;
  }

  private async fetchToken(): Promise<CachedToken> {
    const endpoint = await this.call(() => this.settings.tokenEndpoint());
    const answer = await this.call(() =>
      exchange(
        endpoint,
        {
          method: 'POST',
          headers: {
            authorization: basicAuthorization(this.settings.clientId, this.settings.clientSecret),
            'content-type': 'application/x-www-form-urlencoded',
            accept: 'application/json',
          },
          body: new URLSearchParams({ grant_type: 'client_credentials', scope: this.settings.scope }).toString(),
        },
        // Asking for a token changes nothing at Mydex, so one retry after a network failure is safe.
        { timeoutMs: this.settings.timeoutMs, networkRetries: 1, observe: this.settings.observe },
      ),
    );
    const body = parseJson(answer.text) as Record<string, unknown> | undefined;
    if (answer.status === 400 || answer.status === 401 || answer.status === 403) {
      const oauthError = typeof body?.error === 'string' && /^[a-z_]{1,40}$/.test(body.error) ? `, ${body.error}` : '';
      this.logger.error(
        `Mydex's token endpoint refused our client credentials (HTTP ${answer.status}${oauthError}): ` +
          'check MYDEX_CLIENT_ID and MYDEX_CLIENT_SECRET (and that the client may use the mydex:pdx scope).',
      );
      throw new ProblemException('upstream_auth_failed', "Mydex refused the BFF's credentials. The operator has been told.");
    }
    if (answer.status >= 500 || answer.status === 429 || answer.status === 408) {
      this.logger.warn(`Mydex's token endpoint is unavailable (HTTP ${answer.status}).`);
      throw unavailable(retryAfterSeconds(answer.headers.get('retry-after')));
    }
    const token = body?.access_token;
    const lifetime = typeof body?.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : DEFAULT_LIFETIME_S;
    if (answer.status !== 200 || typeof token !== 'string' || token === '') {
      this.logger.warn(`Mydex's token endpoint answered HTTP ${answer.status} without a usable access_token.`);
      throw new ProblemException('upstream_bad_response', 'Mydex answered with something the BFF could not read.');
    }
    const margin = Math.min(RENEW_MARGIN_S, lifetime / 10);
    this.cached = { value: token, renewAt: this.now() + (lifetime - margin) * 1000 };
    return this.cached;
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw transportProblem(error, this.logger, this.settings.timeoutMs);
    }
  }
}

const DEFAULT_RETRY_AFTER_S = 5;

export function unavailable(retryAfter?: number): ProblemException {
  return new ProblemException('upstream_unavailable', 'Mydex is unavailable at the moment; try again shortly.', {
    headers: { 'retry-after': String(retryAfter ?? DEFAULT_RETRY_AFTER_S) },
  });
}

/** Maps a transport failure (timeout, refused, reset) to its problem and says so once in the log. */
export function transportProblem(error: unknown, logger: Logger, timeoutMs: number): unknown {
  if (!(error instanceof MydexTransportError)) return error;
  if (error.kind === 'timeout') {
    logger.warn(`Mydex did not answer ${error.target} within ${timeoutMs} ms (MYDEX_TIMEOUT_MS).`);
    return new ProblemException('upstream_timeout', `Mydex did not answer within ${timeoutMs} ms; try again.`);
  }
  logger.warn(`Mydex could not be reached for ${error.target} (connection refused or reset).`);
  return unavailable();
}
