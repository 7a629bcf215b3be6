import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWTPayload } from 'jose';

/** The event claim a back-channel logout token carries. */
export const LOGOUT_EVENT = { 'http://schemas.openid.net/event/backchannel-logout': {} };

export interface LogoutTokenIssuer {
  /** Base URL and issuer: discovery at `${issuer}/.well-known/openid-configuration`. */
  issuer: string;
  clientId: string;
  /**
   * A logout token for `claims` on top of valid defaults (iss, aud, iat, exp, jti, events); a claim
   * set to undefined is left out. `key: 'stranger'` signs with a key the JWKS does not hold.
   */
  sign(
    claims?: Record<string, unknown>,
    options?: { key?: 'known' | 'stranger'; typ?: string; alg?: 'none' | 'HS256'; secret?: string },
  ): Promise<string>;
  close(): Promise<void>;
}

/**
 * An OpenID Provider reduced to what back-channel logout needs (discovery and a JWKS), whose signing
 * key the test holds, so it can write logout tokens wrong in exactly one way each.
 */
export async function startLogoutTokenIssuer(clientId = 'backchannel-client'): Promise<LogoutTokenIssuer> {
  const known = await keyPair('known-key');
  const stranger = await keyPair('stranger-key');
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    const json = (status: number, body: unknown) =>
      response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    if (path === '/.well-known/openid-configuration') {
      return json(200, {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        userinfo_endpoint: `${issuer}/userinfo`,
        jwks_uri: `${issuer}/jwks`,
        end_session_endpoint: `${issuer}/logout`,
        id_token_signing_alg_values_supported: ['RS256'],
        backchannel_logout_supported: true,
        backchannel_logout_session_supported: true,
      });
    }
    if (path === '/jwks') return json(200, { keys: [known.publicJwk] });
    return json(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    clientId,
    async sign(claims = {}, options = {}) {
      const now = Math.floor(Date.now() / 1000);
      const payload: JWTPayload = {
        iss: issuer,
        aud: clientId,
        iat: now,
        exp: now + 120,
        jti: randomBytes(12).toString('hex'),
        events: LOGOUT_EVENT,
        ...claims,
      };
      for (const [name, value] of Object.entries(payload)) if (value === undefined) delete payload[name];
      if (options.alg === 'none') return new UnsecuredJWT(payload).encode();
      if (options.alg === 'HS256') {
        return new SignJWT(payload)
          .setProtectedHeader({ alg: 'HS256', typ: 'logout+jwt' })
          .sign(new TextEncoder().encode(options.secret ?? 'a-shared-secret-of-enough-length'));
      }
      const key = options.key === 'stranger' ? stranger : known;
      // The stranger claims the known key's id: the signature itself must be what fails.
      return new SignJWT(payload)
        .setProtectedHeader({ alg: 'RS256', kid: known.kid, typ: options.typ ?? 'logout+jwt' })
        .sign(key.privateKey);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function keyPair(kid: string): Promise<{ kid: string; privateKey: CryptoKey; publicJwk: Record<string, unknown> }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}
