import { startBffStack, type BffStack } from './support/bff-stack.js';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeLogin, completeLogout, newMember, registerThroughLaca, type NewMember } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { atCallback, atFrontendOrApp, countRows, NATIVE_REDIRECT_URI, redirectError } from './support/oidc-browser.js';

interface NativeStart {
  authorizationUrl: string;
  transactionId: string;
  exchangeSecret: string;
}

describe('OIDC delegation for native clients against the emulator', () => {
  let stack: BffStack;
  let bff: string;
  beforeAll(async () => {
    stack = await startBffStack();
    bff = stack.a.url;
  });
  afterAll(async () => stack?.close());

  /** The app's own call: no cookies, JSON in and out. */
  async function startNative(intent: 'register' | 'login', extra: Record<string, unknown> = {}): Promise<NativeStart> {
    const response = await fetch(`${bff}/v1/auth/oidc/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ intent, client: 'native', appRedirectUri: NATIVE_REDIRECT_URI, ...extra }),
    });
    expect(response.status).toBe(200);
    expect(response.headers.getSetCookie()).toEqual([]);
    return (await response.json()) as NativeStart;
  }

  const exchange = (code: string, exchangeSecret: string) =>
    fetch(`${bff}/v1/auth/session/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, exchangeSecret }),
    });

  const bearer = (token: string, path = '/v1/session', init: RequestInit = {}) =>
    fetch(`${bff}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: `Bearer ${token}` } });

  /** The system browser's journey; answers the app redirect it ends on (not fetched). */
  async function inSystemBrowser(start: NativeStart, member: NewMember, intent: 'register' | 'login'): Promise<URL> {
    const browser = new ScriptedBrowser();
    const landing =
      intent === 'register'
        ? await registerThroughLaca(browser, start.authorizationUrl, member, { stopAt: atFrontendOrApp })
        : await completeLogin(browser, start.authorizationUrl, member, { stopAt: atFrontendOrApp });
    expect(landing.url.protocol).toBe('com.example.app:');
    return landing.url;
  }

  it('registers: the app gets a one-time code, exchanges it with its secret for a bearer token, and GET /v1/session works', async () => {
    const member = newMember('app');
    const start = await startNative('register', { email: member.email });
    expect(start.exchangeSecret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(new URL(start.authorizationUrl).searchParams.get('action')).toBe('register');
    const redirect = await inSystemBrowser(start, member, 'register');
    expect(`${redirect.protocol}${redirect.pathname}`).toBe(NATIVE_REDIRECT_URI);
    const code = redirect.searchParams.get('code')!;
    expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(await countRows(stack.a.app, 'registrations')).toBeGreaterThan(0);

    const response = await exchange(code, start.exchangeSecret);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { sessionToken: string; expiresAt: string; member: { sub: string; mydexid: string } };
    expect(body.member).toEqual({ sub: expect.stringMatching(/^[0-9a-f]{64}$/), mydexid: member.mydexid });
    const current = await bearer(body.sessionToken);
    expect(current.status).toBe(200);
    expect(await current.json()).toMatchObject({ member: body.member, expiresAt: body.expiresAt, connected: false });

    // The code is single use.
    const again = await exchange(code, start.exchangeSecret);
    expect(again.status).toBe(400);
    expect(((await again.json()) as { code: string }).code).toBe('exchange_code_invalid');
  });

  it("back-channel logout: logging out at Mydex in the system browser ends the app's bearer session (it kept Mydex's sid)", async () => {
    const member = newMember('appbc');
    const start = await startNative('register', { email: member.email });
    const systemBrowser = new ScriptedBrowser();
    const landing = await registerThroughLaca(systemBrowser, start.authorizationUrl, member, { stopAt: atFrontendOrApp });
    const response = await exchange(landing.url.searchParams.get('code')!, start.exchangeSecret);
    const { sessionToken } = (await response.json()) as { sessionToken: string };
    expect((await bearer(sessionToken)).status).toBe(200);
    const sids = (await stack.a.app
      .get(DataSource)
      .query("SELECT sid FROM sessions WHERE client = 'native' AND sid IS NOT NULL")) as unknown[];
    expect(sids.length).toBeGreaterThan(0);

    const logout = new URL(`${stack.emulator.issuer}/oauth2/sessions/logout`);
    logout.searchParams.set('client_id', stack.emulator.options.clientId);
    await completeLogout(systemBrowser, logout);
    const after = await bearer(sessionToken);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe('session_required');
  });

  it('logs in, and logout ends the bearer session (the token is refused afterwards)', async () => {
    const member = newMember('applogin');
    const first = await startNative('register');
    await inSystemBrowser(first, member, 'register');
    const registrations = await countRows(stack.a.app, 'registrations');

    const start = await startNative('login');
    const code = (await inSystemBrowser(start, member, 'login')).searchParams.get('code')!;
    const { sessionToken } = (await (await exchange(code, start.exchangeSecret)).json()) as { sessionToken: string };
    expect(await countRows(stack.a.app, 'registrations')).toBe(registrations);
    expect((await bearer(sessionToken)).status).toBe(200);

    // Bearer requests need no X-CSRF: no browser attaches the token by itself.
    const logout = await bearer(sessionToken, '/v1/session/logout', { method: 'POST' });
    expect(logout.status).toBe(200);
    const { endSessionUrl } = (await logout.json()) as { endSessionUrl: string };
    expect(new URL(endSessionUrl).searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(new URL(endSessionUrl).searchParams.has('post_logout_redirect_uri')).toBe(false);

    const after = await bearer(sessionToken);
    expect(after.status).toBe(401);
    expect(((await after.json()) as { code: string }).code).toBe('session_required');
    expect((await bearer(sessionToken, '/v1/session/logout', { method: 'POST' })).status).toBe(401);
  });

  it('refuses an exchange with the wrong secret, and the code is used up by the attempt', async () => {
    const member = newMember('appsecret');
    const start = await startNative('register');
    const code = (await inSystemBrowser(start, member, 'register')).searchParams.get('code')!;
    const sessions = await countRows(stack.a.app, 'sessions');
    const wrong = await exchange(code, 'x'.repeat(43));
    expect(wrong.status).toBe(400);
    expect(((await wrong.json()) as { code: string }).code).toBe('exchange_code_invalid');
    expect((await exchange(code, start.exchangeSecret)).status).toBe(400);
    expect(await countRows(stack.a.app, 'sessions')).toBe(sessions);
  });

  it('refuses an exchange with an unknown code or a malformed body', async () => {
    const unknown = await exchange('A'.repeat(43), 'B'.repeat(43));
    expect(unknown.status).toBe(400);
    const malformed = await fetch(`${bff}/v1/auth/session/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code: 5 }),
    });
    expect(malformed.status).toBe(422);
    expect(((await malformed.json()) as { code: string }).code).toBe('validation_failed');
  });

  it('sends refusals to the app redirect URI with ?error=<code> (replayed state)', async () => {
    const member = newMember('appreplay');
    const start = await startNative('register');
    const browser = new ScriptedBrowser();
    const callback = (await registerThroughLaca(browser, start.authorizationUrl, member, { stopAt: atCallback })).url;
    const first = await browser.navigate(callback, {}, { stopAt: atFrontendOrApp });
    expect(first.url.searchParams.has('code')).toBe(true);
    const sessions = await countRows(stack.a.app, 'sessions');
    const replay = await new ScriptedBrowser().navigate(callback, {}, { stopAt: atFrontendOrApp });
    expect(redirectError(replay.url.href)).toEqual({ error: 'state_reused', base: NATIVE_REDIRECT_URI });
    expect(await countRows(stack.a.app, 'sessions')).toBe(sessions);
  });
});
