import { startBffStack, type BffStack } from './support/bff-stack.js';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember, registerThroughLaca } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { MemberSession } from '../src/session/member-session.entity.js';
import { ENGINES } from './support/database.js';
import { FRONTEND_ORIGIN, nativeSessionToken, registerWebMember, startWebFlow } from './support/oidc-browser.js';

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


  const expire = () => stack.a.app.get(DataSource).createQueryBuilder().update(MemberSession).set({ expiresAt: new Date(Date.now() - 1000) }).execute();
  const problemCode = async (response: Response) => ((await response.json()) as { code: string }).code;

  it('sets the session cookie HttpOnly, SameSite=Lax, Path=/ (named bff_session on plain-http localhost)', async () => {
    const browser = new ScriptedBrowser();
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'register', returnTo: `${FRONTEND_ORIGIN}/` });
    const callback = await registerThroughLaca(browser, authorizationUrl, newMember('cookie'), { stopAt: (url) => url.pathname === '/v1/auth/oidc/callback' });
    const response = await browser.request(callback.url);
    expect(response.status).toBe(303);
    const cookie = response.headers.getSetCookie().find((value) => value.startsWith('bff_session='))!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\//);
    // SESSION_TTL_SECONDS (12 h by default), less the second the request took.
    expect(Number(/; Max-Age=([0-9]+)/.exec(cookie)?.[1])).toBeGreaterThan(43190);
    expect(cookie).not.toMatch(/; Secure/i);
  });

  it('answers 401 session_required without a session, with a garbage cookie and with a garbage bearer token', async () => {
    for (const headers of <Record<string, string>[]>[{}, { cookie: 'bff_session=garbage' }, { cookie: `bff_session=${'A'.repeat(43)}` }, { authorization: 'Bearer nope' }, { authorization: 'Basic abc' }]) {
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

  it('refuses a postLogoutRedirectUri off the allowlist before ending anything', async () => {
    const { browser } = await webSession();
    const response = await browser.request(`${bff}/v1/session/logout`, {
      method: 'POST',
      headers: { 'x-csrf': '1', 'content-type': 'application/json' },
      body: JSON.stringify({ postLogoutRedirectUri: 'https://evil.example/' }),
    });
    expect(response.status).toBe(400);
    expect(await problemCode(response)).toBe('return_to_not_allowed');
    expect((await browser.request(`${bff}/v1/session`)).status).toBe(200);
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
