import OpenIDConnectStrategy from 'passport-openidconnect';
import type { TokenEndpointTransport } from './token-endpoint.transport.js';

/** The extra authorization parameters the relying party sends; nothing else passes through. */
export interface MydexAuthorizationParams {
  code_challenge: string;
  code_challenge_method: 'S256';
  nonce: string;
  /** Mydex's LaCa shows its registration form instead of login [S]. */
  action?: 'register';
  /** Pre-fills the registration form's email [S]; only a validated address gets here. */
  email?: string;
}

/** Options of one passport run of this strategy (passport hands them to `authenticate`). */
export interface MydexAuthenticateOptions {
  session: false;
  state?: unknown;
  mydexParams?: MydexAuthorizationParams;
}

/**
 * passport-openidconnect 0.1.2's strategy with Mydex's authorization parameters. It still drives the
 * protocol (authorization URL, state store, code exchange, its own claim checks, UserInfo); what 0.1.2
 * lacks is added around it: PKCE and nonce here, the token transport, and the signature and claim
 * checks in the verify callback (IdTokenVerifier). Mydex's sample sends neither PKCE nor nonce [S]; that
 * its provider accepts S256 and echoes the nonce (as ORY Hydra does) is [I].
 */
export class MydexOidcStrategy extends OpenIDConnectStrategy {
  override authorizationParams(options?: MydexAuthenticateOptions): object {
    const params = options?.mydexParams;
    if (!params) throw new Error('authorization parameters missing');
    const out: Record<string, string> = {
      code_challenge: params.code_challenge,
      code_challenge_method: params.code_challenge_method,
      nonce: params.nonce,
    };
    if (params.action === 'register') out.action = 'register';
    if (params.email !== undefined) out.email = params.email;
    return out;
  }

  /** A copy for one request, talking to the provider through that request's transport. */
  forRequest(transport: TokenEndpointTransport): MydexOidcStrategy {
    const copy = Object.create(this) as MydexOidcStrategy;
    (copy as unknown as { _oauth2: TokenEndpointTransport })._oauth2 = transport;
    return copy;
  }
}
