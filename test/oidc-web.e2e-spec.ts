import { startBffStack, type BffStack } from './support/bff-stack.js';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeLogin, completeLogout, newMember, registerThroughLaca, type NewMember } from '../emulator/testing/journeys.js';
import { inputValue, ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { Registration } from '../src/registration/registration.entity.js';
import { OidcTransaction } from '../src/auth/oidc/oidc-transaction.entity.js';
import { sha256Hex } from '../src/session/session-token.js';
import { ENGINES } from './support/database.js';
import {
  atCallback,
  atFrontendOrApp,
  countRows,
  FRONTEND_ORIGIN,
  redirectError,
  registerWebMember,
  startWebFlow,
} from './support/oidc-browser.js';

const RETURN_TO = `${FRONTEND_ORIGIN}/welcome?from=mydex`;
const DEFAULT_TARGET = `${FRONTEND_ORIGIN}/`;

describe.each(ENGINES)('OIDC delegation for web clients against the emulator (%s)', (engine) => {
  let stack: BffStack;
  let bff: string;
  beforeAll(async () => {
    stack = await startBffStack({ engine });
    bff = stack.a.url;
  });
  afterAll(async () => stack?.close());

  /** Registers a new member through the BFF in a fresh browser; answers the browser (logged in at the BFF). */
  async function registerViaBff(member: NewMember): Promise<ScriptedBrowser> {
    const { browser, landing } = await registerWebMember(bff, member, { returnTo: RETURN_TO });
    expect(landing.url.href).toBe(RETURN_TO);
    return browser;
  }

  /** Runs a web flow up to (not into) the BFF callback; answers the callback URL Mydex sent the browser to. */
  async function callbackUrlFor(browser: ScriptedBrowser, member: NewMember, intent: 'login' | 'register'): Promise<URL> {
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent, returnTo: RETURN_TO });
    const landing =
      intent === 'login'
        ? await completeLogin(browser, authorizationUrl, member, { stopAt: atCallback })
        : await registerThroughLaca(browser, authorizationUrl, member, { stopAt: atCallback });
    expect(landing.status).toBe(0);
    return landing.url;
  }

  const session = (browser: ScriptedBrowser, base = bff) => browser.request(`${base}/v1/session`);
  const withCookie = (base: string, value: string) => fetch(`${base}/v1/session`, { headers: { cookie: `bff_session=${value}` } });

  it('registers through Mydex (action=register, email pre-filled), records the registration and opens a cookie session', async () => {
    const member = newMember('web');
    const browser = new ScriptedBrowser();
    const { authorizationUrl, transactionId } = await startWebFlow(browser, bff, {
      intent: 'register',
      email: member.email,
      returnTo: RETURN_TO,
    });
    expect(transactionId).toMatch(/^[0-9a-f-]{36}$/);
    const request = new URL(authorizationUrl).searchParams;
    expect(request.get('action')).toBe('register');
    expect(request.get('code_challenge_method')).toBe('S256');
    expect(request.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const form = await browser.navigate(authorizationUrl);
    expect(inputValue(form.body, 'email')).toBe(member.email);
    const landing = await registerThroughLaca(browser, authorizationUrl, member, { stopAt: atFrontendOrApp });
    expect(landing.url.href).toBe(RETURN_TO);
    const cookie = browser.jar.get('bff_session', bff);
    expect(cookie).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const current = await session(browser);
    expect(current.status).toBe(200);
    const body = (await current.json()) as { member: { sub: string; mydexid: string }; expiresAt: string; connected: boolean };
    expect(body.member).toEqual({ sub: expect.stringMatching(/^[0-9a-f]{64}$/), mydexid: member.mydexid });
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now());
    expect(body.connected).toBe(false);

    const registrations = await stack.a.app.get(DataSource).getRepository(Registration).findBy({ mydexid: member.mydexid });
    expect(registrations).toMatchObject([{ strategy: 'oidc', status: 'completed', sub: body.member.sub, returnTo: RETURN_TO }]);
    // Only a hash of the session id is stored.
    const stored = (await stack.a.app.get(DataSource).query('SELECT token_hash FROM sessions')) as { token_hash: string }[];
    expect(stored.length).toBeGreaterThan(0);
    expect(stored.map((row) => row.token_hash)).not.toContain(cookie);
  });

  it('logs an existing member in (no action, no email passed, no registration recorded) and serves GET /v1/session', async () => {
    const member = newMember('login');
    await registerViaBff(member);
    const registrations = await countRows(stack.a.app, 'registrations');
    const browser = new ScriptedBrowser();
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'login', email: 'ignored@example.org', returnTo: RETURN_TO });
    const params = new URL(authorizationUrl).searchParams;
    expect(params.has('action') || params.has('email')).toBe(false);
    const landing = await completeLogin(browser, authorizationUrl, member, { stopAt: atFrontendOrApp });
    expect(landing.url.href).toBe(RETURN_TO);
    expect(((await (await session(browser)).json()) as { member: { mydexid: string } }).member.mydexid).toBe(member.mydexid);
    expect(await countRows(stack.a.app, 'registrations')).toBe(registrations);
  });

  it('logs out: the session ends, the answer is Mydex end-session URL with id_token_hint, and Mydex logs the member out too', async () => {
    const member = newMember('logout');
    const browser = await registerViaBff(member);
    const refused = await browser.request(`${bff}/v1/session/logout`, { method: 'POST' });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { code: string }).code).toBe('csrf_header_missing');
    expect((await session(browser)).status).toBe(200);

    const cookie = browser.jar.get('bff_session', bff)!;
    const logout = await browser.request(`${bff}/v1/session/logout`, { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(logout.status).toBe(200);
    const { endSessionUrl } = (await logout.json()) as { endSessionUrl: string };
    const url = new URL(endSessionUrl);
    expect(url.origin + url.pathname).toBe(`${stack.emulator.issuer}/oauth2/sessions/logout`);
    expect(url.searchParams.get('id_token_hint')).toMatch(/^ey/);
    expect(url.searchParams.get('post_logout_redirect_uri')).toBe(DEFAULT_TARGET);
    expect(browser.jar.get('bff_session', bff)).toBeUndefined();
    expect((await withCookie(bff, cookie)).status).toBe(401);

    const landed = await completeLogout(browser, endSessionUrl, { stopAt: atFrontendOrApp });
    expect(landed.url.href).toBe(DEFAULT_TARGET);
    // Logged out at Mydex as well: the next login shows the LaCa form again instead of returning at once.
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'login', returnTo: RETURN_TO });
    const page = await browser.navigate(authorizationUrl, {}, { stopAt: atFrontendOrApp });
    expect(page.url.pathname).toMatch(/^\/interaction\//);
  });

  it('logging in again in the same browser ends the session its cookie held (one browser, one live session)', async () => {
    const member = newMember('relogin');
    const browser = await registerViaBff(member);
    const first = browser.jar.get('bff_session', bff)!;
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'login', returnTo: RETURN_TO });
    // Still logged in at Mydex: the provider sends the browser straight back to the callback.
    const landing = await browser.navigate(authorizationUrl, {}, { stopAt: atFrontendOrApp });
    expect(landing.url.href).toBe(RETURN_TO);
    const second = browser.jar.get('bff_session', bff)!;
    expect(second).not.toBe(first);
    expect((await withCookie(bff, first)).status).toBe(401);
    expect((await withCookie(bff, second)).status).toBe(200);
  });

  it("back-channel logout: a member who logs out at Mydex (not at the BFF) loses the BFF session, and the session kept Mydex's sid", async () => {
    const member = newMember('bclogout');
    const browser = await registerViaBff(member);
    const cookie = browser.jar.get('bff_session', bff)!;
    const bystander = await registerViaBff(newMember('bcother'));
    const bystanderCookie = bystander.jar.get('bff_session', bff)!;
    const [row] = (await stack.a.app.get(DataSource).query(`SELECT sid FROM sessions WHERE token_hash = '${sha256Hex(cookie)}'`)) as {
      sid: string | null;
    }[];
    expect(row?.sid).toMatch(/.{8,}/);
    expect((await withCookie(bff, cookie)).status).toBe(200);

    // The member ends their Mydex session at Mydex itself; Mydex POSTs a logout token to the BFF.
    const logout = new URL(`${stack.emulator.issuer}/oauth2/sessions/logout`);
    logout.searchParams.set('client_id', stack.emulator.options.clientId);
    await completeLogout(browser, logout);

    expect((await withCookie(bff, cookie)).status).toBe(401);
    expect((await withCookie(bff, bystanderCookie)).status).toBe(200);
    // The browser still holds the cookie: only the back channel ended the session.
    expect(browser.jar.get('bff_session', bff)).toBe(cookie);
  });

  it('finishes on another instance a flow started on this one, and a logout on either ends the session on both', async () => {
    const other = await stack.startInstance();
    const member = newMember('multi');
    const browser = new ScriptedBrowser();
    const callback = await callbackUrlFor(browser, member, 'register');
    const landing = await browser.navigate(new URL(callback.pathname + callback.search, other.url), {}, { stopAt: atFrontendOrApp });
    expect(landing.url.href).toBe(RETURN_TO);
    const cookie = browser.jar.get('bff_session', bff)!;
    expect((await withCookie(bff, cookie)).status).toBe(200);
    expect((await withCookie(other.url, cookie)).status).toBe(200);

    expect((await browser.request(`${bff}/v1/session/logout`, { method: 'POST', headers: { 'x-csrf': '1' } })).status).toBe(200);
    expect((await withCookie(bff, cookie)).status).toBe(401);
    expect((await withCookie(other.url, cookie)).status).toBe(401);
  });

  describe('refusals at the callback (browser lands on returnTo?error=<code>, nothing created)', () => {
    async function expectRefused(browser: ScriptedBrowser, callback: URL | string, code: string, target = RETURN_TO): Promise<void> {
      const sessions = await countRows(stack.a.app, 'sessions');
      const registrations = await countRows(stack.a.app, 'registrations');
      const landing = await browser.navigate(callback, {}, { stopAt: atFrontendOrApp });
      expect(redirectError(landing.url.href)).toEqual({ error: code, base: target });
      expect(await countRows(stack.a.app, 'sessions')).toBe(sessions);
      expect(await countRows(stack.a.app, 'registrations')).toBe(registrations);
      expect(browser.jar.get('bff_session', bff)).toBeUndefined();
    }

    it('refuses a replayed state from another browser (an intercepted callback URL)', async () => {
      const member = newMember('replay');
      await registerViaBff(member);
      const browser = new ScriptedBrowser();
      const callback = await callbackUrlFor(browser, member, 'login');
      expect((await browser.navigate(callback, {}, { stopAt: atFrontendOrApp })).url.href).toBe(RETURN_TO);
      await expectRefused(new ScriptedBrowser(), callback, 'state_reused');
    });

    it('refuses a replayed state even from the browser that finished it', async () => {
      const member = newMember('replaysame');
      await registerViaBff(member);
      const browser = new ScriptedBrowser();
      const callback = await callbackUrlFor(browser, member, 'login');
      await browser.navigate(callback, {}, { stopAt: atFrontendOrApp });
      const sessions = await countRows(stack.a.app, 'sessions');
      const landing = await browser.navigate(callback, {}, { stopAt: atFrontendOrApp });
      expect(redirectError(landing.url.href)).toEqual({ error: 'state_reused', base: RETURN_TO });
      expect(await countRows(stack.a.app, 'sessions')).toBe(sessions);
    });

    it('refuses a replayed authorization code under a fresh state', async () => {
      const member = newMember('code');
      await registerViaBff(member);
      const browser = new ScriptedBrowser();
      const first = await callbackUrlFor(browser, member, 'login');
      await browser.navigate(first, {}, { stopAt: atFrontendOrApp });
      browser.jar.clear();
      const second = await callbackUrlFor(browser, member, 'login');
      const forged = new URL(second);
      forged.searchParams.set('code', first.searchParams.get('code')!);
      await expectRefused(browser, forged, 'token_exchange_failed');
    });

    it('refuses a callback from another browser (no transaction cookie) without spoiling the real one', async () => {
      const member = newMember('csrf');
      await registerViaBff(member);
      const browser = new ScriptedBrowser();
      const callback = await callbackUrlFor(browser, member, 'login');
      await expectRefused(new ScriptedBrowser(), callback, 'browser_mismatch');
      expect((await browser.navigate(callback, {}, { stopAt: atFrontendOrApp })).url.href).toBe(RETURN_TO);
    });

    it('refuses a tampered state and sends the browser to the default frontend address', async () => {
      const member = newMember('tamper');
      await registerViaBff(member);
      const browser = new ScriptedBrowser();
      const callback = await callbackUrlFor(browser, member, 'login');
      const state = callback.searchParams.get('state')!;
      callback.searchParams.set('state', `${state.slice(0, -1)}${state.endsWith('A') ? 'B' : 'A'}`);
      await expectRefused(browser, callback, 'state_invalid', DEFAULT_TARGET);
      const missing = new URL(callback);
      missing.searchParams.delete('state');
      await expectRefused(browser, missing, 'state_invalid', DEFAULT_TARGET);
    });

    it('refuses an expired transaction', async () => {
      const member = newMember('expired');
      await registerViaBff(member);
      const browser = new ScriptedBrowser();
      const callback = await callbackUrlFor(browser, member, 'login');
      await stack.a.app
        .get(DataSource)
        .createQueryBuilder()
        .update(OidcTransaction)
        .set({ expiresAt: new Date(Date.now() - 1000) })
        .execute();
      await expectRefused(browser, callback, 'transaction_expired');
    });

    it('passes access_denied from Mydex on to the frontend and uses the transaction up', async () => {
      const browser = new ScriptedBrowser();
      const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'register', returnTo: RETURN_TO });
      const state = new URL(authorizationUrl).searchParams.get('state')!;
      const denied = new URL(`${stack.publicBaseUrl}/v1/auth/oidc/callback`);
      denied.search = new URLSearchParams({
        error: 'access_denied',
        error_description: 'The member cancelled',
        state,
        iss: stack.emulator.issuer,
      }).toString();
      await expectRefused(browser, denied, 'access_denied');
      await expectRefused(browser, denied, 'state_reused');
    });
  });
});
