import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { jwtClaims } from './testing/html-inspection.js';
import {
  authorizationRequest,
  basicAuth,
  codeFrom,
  completeLogin,
  completeLogout,
  exchangeCode,
  newMember,
  registerThroughLaca,
  type AuthorizationRequest,
  type NewMember,
} from './testing/journeys.js';
import { ScriptedBrowser } from './testing/scripted-browser.js';

const REDIRECT_URI = 'http://127.0.0.1:3999/v1/auth/oidc/callback';
const POST_LOGOUT_URI = 'http://127.0.0.1:3999/';

let emulator: RunningEmulator;
let member: NewMember;

const atRedirectUri = (url: URL) => url.toString().startsWith(REDIRECT_URI) || url.toString().startsWith(POST_LOGOUT_URI);

async function token(body: Record<string, string>, authorization?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authorization) headers.authorization = authorization;
  const response = await fetch(`${emulator.issuer}/oauth2/token`, { method: 'POST', headers, body: new URLSearchParams(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const clientAuth = () => basicAuth(emulator.options.clientId, emulator.options.clientSecret);

/** A fresh code for `member` (logging in in a new browser). */
async function freshCode(): Promise<{ code: string; request: AuthorizationRequest }> {
  const request = authorizationRequest(emulator);
  const landing = await completeLogin(new ScriptedBrowser(), request.url, member, { stopAt: atRedirectUri });
  return { code: codeFrom(landing).code, request };
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, redirectUris: [REDIRECT_URI], postLogoutRedirectUris: [POST_LOGOUT_URI] });
  member = newMember('oidc');
  const request = authorizationRequest(emulator, { action: 'register' });
  await registerThroughLaca(new ScriptedBrowser(), request.url, member, { stopAt: atRedirectUri });
});

afterAll(async () => {
  await emulator.close();
});

describe('discovery and keys', () => {
  it('publishes Hydra-style endpoints, PKCE S256, client_secret_basic and the Mydex scopes and claims', async () => {
    const response = await fetch(`${emulator.issuer}/.well-known/openid-configuration`);
    expect(response.status).toBe(200);
    const discovery = (await response.json()) as Record<string, unknown>;
    expect(discovery).toMatchObject({
      issuer: emulator.issuer,
      authorization_endpoint: `${emulator.issuer}/oauth2/auth`,
      token_endpoint: `${emulator.issuer}/oauth2/token`,
      userinfo_endpoint: `${emulator.issuer}/userinfo`,
      jwks_uri: `${emulator.issuer}/.well-known/jwks.json`,
      end_session_endpoint: `${emulator.issuer}/oauth2/sessions/logout`,
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic'],
      response_types_supported: ['code'],
    });
    expect(discovery.scopes_supported).toEqual(expect.arrayContaining(['openid', 'mydexid', 'mydex:pdx']));
    expect(discovery.claims_supported).toEqual(expect.arrayContaining(['sub', 'mydexid', 'username']));
    expect(emulator.issuer.endsWith('/')).toBe(false);
  });

  it('serves a public RS256 signing key (no private parts) at /.well-known/jwks.json', async () => {
    const jwks = (await (await fetch(`${emulator.issuer}/.well-known/jwks.json`)).json()) as { keys: Record<string, unknown>[] };
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: 'RSA', alg: 'RS256', use: 'sig' });
    expect(jwks.keys[0]).not.toHaveProperty('d');
  });
});

describe('authorization request refusals', () => {
  it('refuses a request without PKCE, back at the redirect URI with invalid_request', async () => {
    const request = authorizationRequest(emulator);
    request.url.searchParams.delete('code_challenge');
    request.url.searchParams.delete('code_challenge_method');
    const landing = await new ScriptedBrowser().navigate(request.url, {}, { stopAt: atRedirectUri });
    expect(landing.url.searchParams.get('error')).toBe('invalid_request');
    expect(landing.url.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses the plain PKCE method', async () => {
    const request = authorizationRequest(emulator);
    request.url.searchParams.set('code_challenge_method', 'plain');
    const landing = await new ScriptedBrowser().navigate(request.url, {}, { stopAt: atRedirectUri });
    expect(landing.url.searchParams.get('error')).toBe('invalid_request');
  });

  it('refuses an unknown client with an error page and no redirect', async () => {
    const request = authorizationRequest(emulator);
    request.url.searchParams.set('client_id', 'someone-else');
    const landing = await new ScriptedBrowser().navigate(request.url, {}, { stopAt: atRedirectUri });
    expect(landing.status).toBe(400);
    expect(landing.body).toContain('invalid_client');
  });

  it('refuses a redirect URI that is not registered', async () => {
    const request = authorizationRequest(emulator, { redirectUri: 'http://127.0.0.1:3999/elsewhere' });
    const landing = await new ScriptedBrowser().navigate(request.url, {}, { stopAt: atRedirectUri });
    expect(landing.status).toBe(400);
    expect(landing.body).toContain('redirect_uri');
  });

  it('refuses a request without redirect_uri even though the client has a single one', async () => {
    const request = authorizationRequest(emulator);
    request.url.searchParams.delete('redirect_uri');
    const landing = await new ScriptedBrowser().navigate(request.url, {}, { stopAt: atRedirectUri });
    expect(landing.status).toBe(400);
  });

  it('answers access_denied when the mydex:pdx scope is asked of a member', async () => {
    const request = authorizationRequest(emulator, { scope: 'openid mydex:pdx' });
    const landing = await completeLogin(new ScriptedBrowser(), request.url, member, { stopAt: atRedirectUri });
    expect(landing.url.searchParams.get('error')).toBe('access_denied');
  });
});

describe('token endpoint', () => {
  it('issues an ID token whose sub is 64 lowercase hex, with the nonce, for the client', async () => {
    const { code, request } = await freshCode();
    const tokens = await exchangeCode(emulator, code, request);
    expect(tokens).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'openid mydexid' });
    expect(tokens).not.toHaveProperty('refresh_token');
    const claims = jwtClaims(tokens.id_token);
    expect(claims).toMatchObject({ iss: emulator.issuer, aud: emulator.options.clientId, nonce: request.nonce });
    expect(claims.sub).toMatch(/^[0-9a-f]{64}$/);
    expect(claims.sub).toBe(emulator.state.members.find((m) => m.mydexid === member.mydexid)?.sub);
  });

  it('refuses the exchange with a wrong code_verifier', async () => {
    const { code, request } = await freshCode();
    const result = await token(
      { grant_type: 'authorization_code', code, redirect_uri: request.redirectUri, code_verifier: 'x'.repeat(43) },
      clientAuth(),
    );
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('invalid_grant');
  });

  it('refuses the exchange without a code_verifier', async () => {
    const { code, request } = await freshCode();
    const result = await token({ grant_type: 'authorization_code', code, redirect_uri: request.redirectUri }, clientAuth());
    expect(result.status).toBe(400);
    expect(result.body.error).toBe('invalid_grant');
  });

  it('refuses a code used twice', async () => {
    const { code, request } = await freshCode();
    await exchangeCode(emulator, code, request);
    const again = await token(
      { grant_type: 'authorization_code', code, redirect_uri: request.redirectUri, code_verifier: request.codeVerifier },
      clientAuth(),
    );
    expect(again.status).toBe(400);
    expect(again.body.error).toBe('invalid_grant');
  });

  it('refuses a wrong client secret', async () => {
    const result = await token(
      { grant_type: 'client_credentials', scope: 'mydex:pdx' },
      basicAuth(emulator.options.clientId, 'wrong-secret'),
    );
    expect(result.status).toBe(401);
    expect(result.body.error).toBe('invalid_client');
  });

  it('refuses client_secret_post: only client_secret_basic is accepted', async () => {
    const result = await token({
      grant_type: 'client_credentials',
      scope: 'mydex:pdx',
      client_id: emulator.options.clientId,
      client_secret: emulator.options.clientSecret,
    });
    expect(result.status).toBe(401);
    expect(result.body.error).toBe('invalid_client');
  });

  it('issues a client-credentials token for mydex:pdx that lives 3600 seconds', async () => {
    const result = await token({ grant_type: 'client_credentials', scope: 'mydex:pdx' }, clientAuth());
    expect(result.status).toBe(200);
    expect(result.body).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'mydex:pdx' });
    expect(result.body).not.toHaveProperty('id_token');
    expect(result.body).not.toHaveProperty('refresh_token');
  });
});

describe('sessions', () => {
  it('logs a member in again without a form while the provider session lasts (consent is automatic)', async () => {
    const browser = new ScriptedBrowser();
    await completeLogin(browser, authorizationRequest(emulator).url, member, { stopAt: atRedirectUri });
    const again = await browser.navigate(authorizationRequest(emulator).url, {}, { stopAt: atRedirectUri });
    expect(again.url.searchParams.get('code')).toBeTruthy();
    expect(again.chain.some((url) => url.includes('/interaction/'))).toBe(false);
  });

  it('ends the session at /oauth2/sessions/logout and returns to the post-logout redirect URI', async () => {
    const browser = new ScriptedBrowser();
    const request = authorizationRequest(emulator);
    const landing = await completeLogin(browser, request.url, member, { stopAt: atRedirectUri });
    const tokens = await exchangeCode(emulator, codeFrom(landing).code, request);
    const logout = new URL(`${emulator.issuer}/oauth2/sessions/logout`);
    logout.searchParams.set('id_token_hint', tokens.id_token);
    logout.searchParams.set('post_logout_redirect_uri', POST_LOGOUT_URI);
    logout.searchParams.set('state', 'after-logout');
    const back = await completeLogout(browser, logout, { stopAt: atRedirectUri });
    expect(back.url.toString()).toBe(`${POST_LOGOUT_URI}?state=after-logout`);
    const next = await browser.navigate(authorizationRequest(emulator).url, {}, { stopAt: atRedirectUri });
    expect(next.url.pathname).toMatch(/^\/interaction\//);
    expect(next.body).toContain('Log in with your MydexID');
  });

  it('refuses a post-logout redirect URI that is not registered', async () => {
    const logout = new URL(`${emulator.issuer}/oauth2/sessions/logout`);
    logout.searchParams.set('client_id', emulator.options.clientId);
    logout.searchParams.set('post_logout_redirect_uri', 'http://127.0.0.1:3999/elsewhere');
    const page = await new ScriptedBrowser().navigate(logout);
    expect(page.status).toBe(400);
  });
});
