import { startBffStack, type BffStack } from './support/bff-stack.js';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeLogin, newMember, registerThroughLaca, type NewMember } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { MemberSession } from '../src/session/member-session.entity.js';
import { sha256Hex } from '../src/session/session-token.js';
import { ENGINES } from './support/database.js';
import {
  atCallback,
  atFrontendOrApp,
  FRONTEND_ORIGIN,
  NATIVE_REDIRECT_URI,
  nativeSessionToken,
  registerWebMember,
  startWebFlow,
} from './support/oidc-browser.js';

describe.each(ENGINES)('member sessions on %s: cookie and bearer, expiry, CSRF header', (engine) => {
  let stack: BffStack;
  let bff: string;
  beforeAll(async () => {
    stack = await startBffStack({ engine });
    bff = stack.a.url;
  });
  afterAll(async () => stack?.close());

  /** A browser with a web session (a member registered through the BFF). */
  async function webSession(): Promise<{ browser: ScriptedBrowser; cookie: string }> {
    const { browser, cookie, landing } = await registerWebMember(bff, newMember('sess'));
    expect(landing.url.origin).toBe(FRONTEND_ORIGIN);
    return { browser, cookie };
  }

  const nativeToken = () => nativeSessionToken(bff, newMember('tok'));

  const expire = () =>
    stack.a.app
      .get(DataSource)
      .createQueryBuilder()
      .update(MemberSession)
      .set({ expiresAt: new Date(Date.now() - 1000) })
      .execute();
  const problemCode = async (response: Response) => ((await response.json()) as { code: string }).code;
  const withCookie = (cookie: string) => fetch(`${bff}/v1/session`, { headers: { cookie: `bff_session=${cookie}` } });

  it('sets the session cookie HttpOnly, SameSite=Lax, Path=/, as a browser-session cookie (no Max-Age or Expires; named bff_session on plain-http localhost)', async () => {
    const browser = new ScriptedBrowser();
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'register', returnTo: `${FRONTEND_ORIGIN}/` });
    const callback = await registerThroughLaca(browser, authorizationUrl, newMember('cookie'), {
      stopAt: (url) => url.pathname === '/v1/auth/oidc/callback',
    });
    const response = await browser.request(callback.url);
    expect(response.status).toBe(303);
    const cookie = response.headers.getSetCookie().find((value) => value.startsWith('bff_session='))!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//);
    // SESSION_PERSISTENT is off by default: the cookie ends with the browser session.
    expect(cookie).not.toMatch(/; Max-Age=/i);
    expect(cookie).not.toMatch(/; Expires=/i);
    expect(cookie).not.toMatch(/; Secure/i);
  });

  it('with SESSION_PERSISTENT=on, gives the session cookie Max-Age: the session lifetime', async () => {
    const persistent = await stack.startInstance({ SESSION_PERSISTENT: 'on' });
    const browser = new ScriptedBrowser();
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'register', returnTo: `${FRONTEND_ORIGIN}/` });
    const callback = await registerThroughLaca(browser, authorizationUrl, newMember('persist'), { stopAt: atCallback });
    const response = await browser.request(new URL(callback.url.pathname + callback.url.search, persistent.url).href);
    expect(response.status).toBe(303);
    const cookie = response.headers.getSetCookie().find((value) => value.startsWith('bff_session='))!;
    // SESSION_TTL_SECONDS (12 h by default), less the second the request took.
    expect(Number(/; Max-Age=([0-9]+)/i.exec(cookie)?.[1])).toBeGreaterThan(43190);
  });

  it('answers 401 session_required without a session, with a garbage cookie and with a garbage bearer token', async () => {
    for (const headers of <Record<string, string>[]>[
      {},
      { cookie: 'bff_session=garbage' },
      { cookie: `bff_session=${'A'.repeat(43)}` },
      { authorization: 'Bearer nope' },
      { authorization: 'Basic abc' },
    ]) {
      const response = await fetch(`${bff}/v1/session`, { headers });
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toBe('Bearer');
      expect(await problemCode(response)).toBe('session_required');
    }
  });

  it('does not accept a web session id as a bearer token (bearer is for native sessions only)', async () => {
    const { cookie } = await webSession();
    expect((await fetch(`${bff}/v1/session`, { headers: { authorization: `Bearer ${cookie}` } })).status).toBe(401);
  });

  it('refuses a cookie-authenticated logout without X-CSRF: 1 (403 csrf_header_missing) and keeps the session', async () => {
    const { browser } = await webSession();
    for (const headers of <Record<string, string>[]>[{}, { 'x-csrf': '0' }, { 'x-csrf': 'true' }]) {
      const response = await browser.request(`${bff}/v1/session/logout`, { method: 'POST', headers });
      expect(response.status).toBe(403);
      expect(await problemCode(response)).toBe('csrf_header_missing');
    }
    expect((await browser.request(`${bff}/v1/session`)).status).toBe(200);
  });

  it('ends the session even when postLogoutRedirectUri is refused, then answers 400 return_to_not_allowed', async () => {
    const { browser, cookie } = await webSession();
    const response = await browser.request(`${bff}/v1/session/logout`, {
      method: 'POST',
      headers: { 'x-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ postLogoutRedirectUri: 'https://evil.example/' }),
    });
    expect(response.status).toBe(400);
    expect(await problemCode(response)).toBe('return_to_not_allowed');
    // The cookie is cleared in the same answer, and the session is over on the server too.
    expect(response.headers.getSetCookie().some((value) => value.startsWith('bff_session=;'))).toBe(true);
    expect(browser.jar.get('bff_session', bff)).toBeUndefined();
    expect((await withCookie(cookie)).status).toBe(401);
  });

  it('ends a native session even when its postLogoutRedirectUri is refused', async () => {
    const token = await nativeToken();
    const response = await fetch(`${bff}/v1/session/logout`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ postLogoutRedirectUri: 'com.evil.app:/cb' }),
    });
    expect(response.status).toBe(400);
    expect(await problemCode(response)).toBe('return_to_not_allowed');
    expect((await fetch(`${bff}/v1/session`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });

  describe('idle timeout (SESSION_IDLE_SECONDS, default 1800)', () => {
    const lastSeen = async (cookie: string) =>
      (
        await stack.a.app
          .get(DataSource)
          .getRepository(MemberSession)
          .findOneByOrFail({ tokenHash: sha256Hex(cookie) })
      ).lastSeenAt!.getTime();
    const setLastSeen = (cookie: string, secondsAgo: number) =>
      stack.a.app
        .get(DataSource)
        .createQueryBuilder()
        .update(MemberSession)
        .set({ lastSeenAt: new Date(Date.now() - secondsAgo * 1000) })
        .where('token_hash = :hash', { hash: sha256Hex(cookie) })
        .execute();

    it('ends a web session unused for longer than the idle timeout (401 session_required), though its absolute lifetime remains', async () => {
      const { cookie } = await webSession();
      await setLastSeen(cookie, 1801);
      const response = await withCookie(cookie);
      expect(response.status).toBe(401);
      expect(await problemCode(response)).toBe('session_required');
    });

    it('ends an idle native session the same way', async () => {
      const token = await nativeToken();
      await setLastSeen(token, 1801);
      expect((await fetch(`${bff}/v1/session`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    });

    it('slides: a request more than a minute after the last recorded one records it again and the session lives on', async () => {
      const { cookie } = await webSession();
      await setLastSeen(cookie, 1700);
      const before = Date.now();
      expect((await withCookie(cookie)).status).toBe(200);
      expect(await lastSeen(cookie)).toBeGreaterThanOrEqual(before - 1000);
      // 1700 s + 200 s later would have been past the timeout without the slide.
      await setLastSeen(cookie, 200);
      expect((await withCookie(cookie)).status).toBe(200);
    });

    it('writes last_seen_at at most once a minute: a request within the minute leaves it as it was', async () => {
      const { cookie } = await webSession();
      await setLastSeen(cookie, 30);
      const recorded = await lastSeen(cookie);
      for (let i = 0; i < 3; i++) expect((await withCookie(cookie)).status).toBe(200);
      expect(await lastSeen(cookie)).toBe(recorded);
    });
  });

  describe('POST /v1/session/logout-all', () => {
    /** Logs an existing member in: in a new browser (web), or through a system browser and the exchange (native). */
    async function loginWeb(member: NewMember): Promise<ScriptedBrowser> {
      const browser = new ScriptedBrowser();
      const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'login', returnTo: `${FRONTEND_ORIGIN}/` });
      await completeLogin(browser, authorizationUrl, member, { stopAt: atFrontendOrApp });
      return browser;
    }
    async function loginNative(member: NewMember): Promise<string> {
      const started = await fetch(`${bff}/v1/auth/oidc/authorize`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ intent: 'login', client: 'native', appRedirectUri: NATIVE_REDIRECT_URI }),
      });
      const { authorizationUrl, exchangeSecret } = (await started.json()) as { authorizationUrl: string; exchangeSecret: string };
      const landing = await completeLogin(new ScriptedBrowser(), authorizationUrl, member, { stopAt: atFrontendOrApp });
      const exchanged = await fetch(`${bff}/v1/auth/session/exchange`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ code: landing.url.searchParams.get('code'), exchangeSecret }),
      });
      return ((await exchanged.json()) as { sessionToken: string }).sessionToken;
    }

    it("ends every session of the member (every browser and app) but no one else's, and answers Mydex's end-session URL", async () => {
      const { browser, member, cookie } = await registerWebMember(bff, newMember('all'));
      const second = await loginWeb(member);
      const secondCookie = second.jar.get('bff_session', bff)!;
      const token = await loginNative(member);
      const bystander = await webSession();
      for (const check of [
        withCookie(cookie),
        withCookie(secondCookie),
        fetch(`${bff}/v1/session`, { headers: { authorization: `Bearer ${token}` } }),
      ]) {
        expect((await check).status).toBe(200);
      }

      const refused = await browser.request(`${bff}/v1/session/logout-all`, { method: 'POST' });
      expect(refused.status).toBe(403);
      expect(await problemCode(refused)).toBe('csrf_header_missing');
      expect((await withCookie(cookie)).status).toBe(200);

      const response = await second.request(`${bff}/v1/session/logout-all`, { method: 'POST', headers: { 'x-csrf': '1' } });
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const { endSessionUrl } = (await response.json()) as { endSessionUrl: string };
      const url = new URL(endSessionUrl);
      expect(url.origin + url.pathname).toBe(`${stack.emulator.issuer}/oauth2/sessions/logout`);
      expect(url.searchParams.get('id_token_hint')).toMatch(/^ey/);
      expect(url.searchParams.get('post_logout_redirect_uri')).toBe(`${FRONTEND_ORIGIN}/`);
      expect(second.jar.get('bff_session', bff)).toBeUndefined();

      expect((await withCookie(cookie)).status).toBe(401);
      expect((await withCookie(secondCookie)).status).toBe(401);
      expect((await fetch(`${bff}/v1/session`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
      expect((await withCookie(bystander.cookie)).status).toBe(200);
    });

    it('works with a bearer token too, and ends every session even when postLogoutRedirectUri is refused', async () => {
      const { member, cookie } = await registerWebMember(bff, newMember('allnat'));
      const token = await loginNative(member);
      const response = await fetch(`${bff}/v1/session/logout-all`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ postLogoutRedirectUri: 'com.evil.app:/cb' }),
      });
      expect(response.status).toBe(400);
      expect(await problemCode(response)).toBe('return_to_not_allowed');
      expect((await withCookie(cookie)).status).toBe(401);
      expect((await fetch(`${bff}/v1/session`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
    });

    it('answers 401 session_required without a session', async () => {
      const response = await fetch(`${bff}/v1/session/logout-all`, { method: 'POST' });
      expect(response.status).toBe(401);
      expect(await problemCode(response)).toBe('session_required');
    });
  });

  it('ends an expired web session (401)', async () => {
    const { browser } = await webSession();
    expect((await browser.request(`${bff}/v1/session`)).status).toBe(200);
    await expire();
    const response = await browser.request(`${bff}/v1/session`);
    expect(response.status).toBe(401);
    expect(await problemCode(response)).toBe('session_required');
  });

  it('ends an expired native session (401)', async () => {
    const token = await nativeToken();
    expect((await fetch(`${bff}/v1/session`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
    await expire();
    expect((await fetch(`${bff}/v1/session`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(401);
  });
});
