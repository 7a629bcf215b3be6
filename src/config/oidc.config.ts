import { registerAs } from '@nestjs/config';
import { validateEnvironment } from './environment.js';
import { OIDC_CALLBACK } from '../common/http/routes.js';

/**
 * The OIDC relying party (delegated registration and login). Issuer and client come from the `mydex`
 * namespace; here are the callback URL and the per-endpoint overrides, each of which wins over
 * discovery (Mydex documents the endpoints but not every one is in its discovery document [I]).
 */
export const oidcConfig = registerAs('oidc', () => {
  const env = validateEnvironment(process.env);
  const publicBaseUrl = env.PUBLIC_BASE_URL.replace(/\/+$/, '');
  return {
    callbackUrl: `${publicBaseUrl}${OIDC_CALLBACK.path}`,
    overrides: {
      authorizationEndpoint: env.MYDEX_AUTHORIZATION_URL,
      tokenEndpoint: env.MYDEX_TOKEN_URL,
      userinfoEndpoint: env.MYDEX_USERINFO_URL,
      jwksUri: env.MYDEX_JWKS_URL,
      endSessionEndpoint: env.MYDEX_END_SESSION_URL,
    },
    /** Per-call timeout for discovery, token, UserInfo and JWKS requests. */
    timeoutMs: env.MYDEX_TIMEOUT_MS,
  };
});
