import { basicAuthorization } from '../../mydex/mydex-http.js';
import { asError } from './passport-bridge.js';

/** `oauth`'s callback shapes, which passport-openidconnect 0.1.2 interprets. */
type HttpFailure = { statusCode: number; data: string } | Error;
type TokenCallback = (error: HttpFailure | null, accessToken?: string, refreshToken?: string, results?: Record<string, unknown>) => void;
type GetCallback = (error: HttpFailure | null, body?: string, response?: unknown) => void;

export interface TokenEndpointTransportOptions {
  clientId: string;
  clientSecret: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  timeoutMs: number;
  /** The PKCE verifier of the transaction this request is finishing (known once the state store ran). */
  codeVerifier: () => string | null | undefined;
  /** Ends the passport run when a passport callback throws (see OidcRequest.abort). */
  abort: (error: unknown) => void;
}

/**
 * Stands in for the `oauth` package's OAuth2 object inside passport-openidconnect (its `_oauth2`),
 * one per request, to close three gaps of 0.1.2: it sends the PKCE `code_verifier`; it authenticates
 * with `client_secret_basic` (Mydex's method, and the emulator's) where `oauth` puts the secret in the
 * body; and every call has a timeout and a JSON check (0.1.2 crashes on a non-JSON UserInfo body).
 */
export class TokenEndpointTransport {
  // The names passport-openidconnect reads from its `_oauth2`.
  readonly _clientId: string;
  readonly _authorizeUrl: string;
  readonly _accessTokenUrl: string;

  constructor(private readonly options: TokenEndpointTransportOptions) {
    this._clientId = options.clientId;
    this._authorizeUrl = options.authorizationEndpoint;
    this._accessTokenUrl = options.tokenEndpoint;
  }

  getOAuthAccessToken(code: string, params: Record<string, string>, callback: TokenCallback): void {
    const verifier = this.options.codeVerifier();
    if (!verifier) {
      this.settle(() => callback(new Error('no PKCE verifier for this transaction')));
      return;
    }
    const body = new URLSearchParams({ ...params, grant_type: 'authorization_code', code, code_verifier: verifier });
    this.call(this.options.tokenEndpoint, {
      method: 'POST',
      headers: {
        authorization: basicAuthorization(this.options.clientId, this.options.clientSecret),
        'content-type': 'application/x-www-form-urlencoded',
      },
      body,
    }).then(
      ({ status, text }) =>
        this.settle(() => {
          if (status < 200 || status > 299) return callback({ statusCode: status, data: text });
          const json = parseObject(text);
          if (!json) return callback({ statusCode: status, data: 'token response is not a JSON object' });
          const accessToken = typeof json.access_token === 'string' ? json.access_token : undefined;
          callback(null, accessToken, undefined, json);
        }),
      (error: unknown) => this.settle(() => callback(asError(error))),
    );
  }

  /** UserInfo (the strategy's only GET). */
  get(url: string, accessToken: string, callback: GetCallback): void {
    this.call(url, { method: 'GET', headers: { authorization: `Bearer ${accessToken}`, accept: 'application/json' } }).then(
      ({ status, text }) =>
        this.settle(() => {
          if (status < 200 || status > 299) return callback({ statusCode: status, data: text });
          if (!parseObject(text)) return callback({ statusCode: status, data: 'UserInfo response is not a JSON object' });
          callback(null, text, undefined);
        }),
      (error: unknown) => this.settle(() => callback(asError(error))),
    );
  }

  private async call(url: string, init: RequestInit): Promise<{ status: number; text: string }> {
    const response = await fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(this.options.timeoutMs) });
    return { status: response.status, text: await response.text() };
  }

  private settle(run: () => void): void {
    try {
      run();
    } catch (error) {
      this.options.abort(error);
    }
  }
}

function parseObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
