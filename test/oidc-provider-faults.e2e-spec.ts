import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { startMisbehavingProvider, type MisbehavingProvider, type ProviderFault } from './support/misbehaving-provider.js';
import { countRows, redirectError, TestBrowser } from './support/oidc-browser.js';
import { freePort } from '../emulator/testing/free-port.js';

const FRONTEND = 'https://app.example';
const RETURN_TO = `${FRONTEND}/signed-in`;

/**
 * The relying party against a provider that gets one thing wrong per test. Each wrong answer must
 * end on returnTo?error=<code> with no session and no registration.
 */
describe('OIDC callback against a misbehaving provider', () => {
  let provider: MisbehavingProvider;
  let t: TestApp;
  let browser: TestBrowser;

  beforeAll(async () => {
    // The issuer is announced with a trailing slash while MYDEX_ISSUER is configured without: as at Mydex.
    provider = await startMisbehavingProvider({ trailingSlashIssuer: true });
    const port = await freePort();
    t = await startTestApp(
      {
        MYDEX_ISSUER: provider.url,
        MYDEX_CLIENT_ID: provider.clientId,
        MYDEX_CLIENT_SECRET: provider.clientSecret,
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        FRONTEND_ORIGINS: FRONTEND,
      },
      'sqlite',
      { port },
    );
  });
  afterAll(async () => {
    await t?.close();
    await provider?.close();
  });
  beforeEach(() => {
    provider.fault = 'none';
    browser = new TestBrowser();
  });

  async function loginThroughProvider(intent: 'login' | 'register' = 'login'): Promise<Response> {
    const start = await browser.postJson(`${t.url}/v1/auth/oidc/authorize`, { intent, returnTo: RETURN_TO });
    expect(start.status).toBe(200);
    const { authorizationUrl } = (await start.json()) as { authorizationUrl: string };
    const callback = await provider.authorize(authorizationUrl);
    return browser.fetch(callback);
  }

  it('logs in when the provider behaves, with PKCE and client_secret_basic at the token endpoint', async () => {
    const response = await loginThroughProvider('register');
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(RETURN_TO);
    const request = provider.tokenRequests.at(-1)!;
    expect(request.form.get('code_verifier')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(request.form.has('client_secret')).toBe(false);
    expect(request.authorization).toMatch(/^Basic /);
    const session = await browser.fetch(`${t.url}/v1/session`);
    expect(session.status).toBe(200);
    expect(await session.json()).toMatchObject({ member: { sub: provider.member.sub, mydexid: 'misbehaving1' }, connected: false });
    expect(await countRows(t.app, 'registrations')).toBe(1);
  });

  const refusals: [ProviderFault, string, string][] = [
    ['unknown_key', 'id_token_invalid', 'an ID token signed with a key that is not in the JWKS'],
    ['wrong_aud', 'id_token_invalid', 'an ID token for another audience'],
    ['wrong_iss', 'id_token_invalid', 'an ID token from another issuer'],
    ['expired', 'id_token_invalid', 'an expired ID token'],
    ['nonce_mismatch', 'id_token_invalid', 'an ID token with another nonce'],
    ['alg_none', 'id_token_invalid', 'an unsigned ID token (alg none)'],
    ['hmac_with_client_secret', 'id_token_invalid', 'an ID token signed with HS256 and the client secret'],
    ['foreign_azp', 'id_token_invalid', 'an ID token authorised for another party (azp)'],
    ['userinfo_other_sub', 'userinfo_invalid', 'UserInfo for another subject'],
    ['userinfo_not_json', 'userinfo_invalid', 'a UserInfo answer that is not JSON'],
    ['wrong_iss_parameter', 'issuer_mismatch', 'an RFC 9207 iss parameter naming another issuer'],
    ['no_iss_parameter', 'issuer_mismatch', 'no RFC 9207 iss parameter although the provider announces it'],
    ['token_error', 'token_exchange_failed', 'a token endpoint error'],
  ];

  it.each(refusals)('refuses %s (%s): %s, and creates no session or registration', async (fault, code) => {
    const sessionsBefore = await countRows(t.app, 'sessions');
    const registrationsBefore = await countRows(t.app, 'registrations');
    provider.fault = fault;
    const response = await loginThroughProvider('register');
    expect(response.status).toBe(303);
    expect(redirectError(response.headers.get('location'))).toEqual({ error: code, base: RETURN_TO });
    expect(response.headers.getSetCookie().some((cookie) => cookie.startsWith('bff_session='))).toBe(false);
    expect(await countRows(t.app, 'sessions')).toBe(sessionsBefore);
    expect(await countRows(t.app, 'registrations')).toBe(registrationsBefore);
    expect((await browser.fetch(`${t.url}/v1/session`)).status).toBe(401);
  });
});

describe('OIDC endpoint overrides', () => {
  let provider: MisbehavingProvider;
  let t: TestApp;
  beforeAll(async () => {
    provider = await startMisbehavingProvider();
    t = await startTestApp({
      MYDEX_ISSUER: provider.url,
      MYDEX_CLIENT_ID: provider.clientId,
      MYDEX_CLIENT_SECRET: provider.clientSecret,
      MYDEX_AUTHORIZATION_URL: `${provider.url}/authorize?tenant=override`,
      FRONTEND_ORIGINS: FRONTEND,
    });
  });
  afterAll(async () => {
    await t?.close();
    await provider?.close();
  });

  it('uses a configured endpoint instead of the discovered one', async () => {
    const response = await new TestBrowser().postJson(`${t.url}/v1/auth/oidc/authorize`, { intent: 'login' });
    const { authorizationUrl } = (await response.json()) as { authorizationUrl: string };
    expect(new URL(authorizationUrl).searchParams.get('tenant')).toBe('override');
  });
});

describe('an unreachable provider', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ MYDEX_ISSUER: `http://127.0.0.1:${await freePort()}`, FRONTEND_ORIGINS: FRONTEND, MYDEX_TIMEOUT_MS: '1000' });
  });
  afterAll(async () => t?.close());

  it('answers 503 upstream_unavailable at authorize and stores nothing', async () => {
    const response = await new TestBrowser().postJson(`${t.url}/v1/auth/oidc/authorize`, { intent: 'login' });
    expect(response.status).toBe(503);
    expect(((await response.json()) as { code: string }).code).toBe('upstream_unavailable');
    expect(await countRows(t.app, 'oidc_transactions')).toBe(0);
  });
});
