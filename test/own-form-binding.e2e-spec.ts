import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveDssa, newMember, type NewMember } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { Registration } from '../src/registration/registration.entity.js';
import { SessionsService } from '../src/session/sessions.service.js';
import { startBffStack, type BffStack } from './support/bff-stack.js';
import { ENGINES } from './support/database.js';
import { atFrontendOrApp, FRONTEND_ORIGIN, NATIVE_REDIRECT_URI } from './support/oidc-browser.js';

/**
 * The registration binding (docs/security.md, "Registration return bound to its client"; docs/own-form-registration.md):
 * only the client that created an own-form registration completes it on Mydex's return, and for
 * REGISTRATION_CONNECT_WINDOW_SECONDS afterwards that client may start the First Time Connection and
 * read it without a login. Also: a session without a MydexID starts the First Time Connection without one.
 * The real BFF against the emulator, whose callbacks reach the BFF.
 */

const COOKIE = 'bff_registration'; // plain-http 127.0.0.1: no __Host- prefix

/** Mydex's Private Key form in `browser`, back through the BFF's return route, stopping at the frontend or app. */
async function finishAtMydex(privateKeyUrl: string, member: NewMember, browser: ScriptedBrowser) {
  const form = await browser.navigate(privateKeyUrl);
  return browser.submit(
    form,
    { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
    { stopAt: atFrontendOrApp },
  );
}

interface Answer {
  registrationId?: string;
  status?: string;
  privateKeyUrl?: string;
  registrationSecret?: string;
  code?: string;
  url?: string;
  kind?: string;
  connected?: boolean;
  mydexid?: string;
  permissions?: Record<string, unknown> | null;
}

describe.each(ENGINES)('registration binding and connecting right after registering (%s)', (engine) => {
  let stack: BffStack;
  let bff: string;

  const json = async (response: Response) => (await response.json()) as Answer;
  const register = (browser: ScriptedBrowser, member: NewMember, extra: Record<string, unknown> = {}) =>
    browser.request(`${bff}/v1/registrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mydexid: member.mydexid, email: member.email, password: member.password, ...extra }),
    });
  const startConnection = (browser: ScriptedBrowser, headers: Record<string, string> = { 'x-csrf': '1' }, body: unknown = {}) =>
    browser.request(`${bff}/v1/connections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  const statusOf = async (id: string) => (await json(await fetch(`${bff}/v1/registrations/${id}`))).status;

  beforeAll(async () => {
    stack = await startBffStack({ engine });
    bff = stack.a.url;
  });
  afterAll(async () => {
    await stack?.close();
  });

  describe('web: the binding cookie', () => {
    it('is set HttpOnly, SameSite=Lax, Path=/ on the 201, and no secret is in the body', async () => {
      const browser = new ScriptedBrowser();
      const created = await register(browser, newMember('cookie'));
      expect(created.status).toBe(201);
      const body = await json(created);
      expect(body.registrationSecret).toBeUndefined();
      const [header] = created.headers.getSetCookie().filter((c) => c.startsWith(`${COOKIE}=`));
      expect(header).toMatch(/; HttpOnly/i);
      expect(header).toMatch(/; SameSite=Lax/i);
      expect(header).toMatch(/; Path=\/(;|$)/);
      expect(header).toMatch(/; Max-Age=\d+/);
      // Only a hash is stored.
      const row = await stack.a.app.get(DataSource).getRepository(Registration).findOneByOrFail({ id: body.registrationId! });
      const secret = browser.jar.get(COOKIE, bff)!;
      expect(row.bindingHash).toMatch(/^[0-9a-f]{64}$/);
      expect(row.bindingHash).not.toBe(secret);
      expect(JSON.stringify(row)).not.toContain(secret);
    });

    it('an unbound client cannot complete the registration: it lands with the current status, unchanged', async () => {
      const member = newMember('unbound');
      const owner = new ScriptedBrowser();
      const created = await json(await register(owner, member));
      const id = created.registrationId!;

      // Someone else holds the return URL (it appears in the frontend's URL): a browser without the cookie…
      const landing = await finishAtMydex(created.privateKeyUrl!, member, new ScriptedBrowser());
      expect(landing.url.toString()).toBe(`${FRONTEND_ORIGIN}/?registration=${id}&status=awaiting_private_key`);
      expect(await statusOf(id)).toBe('awaiting_private_key');
      // …or with a cookie of its own making, or another registration's cookie.
      const forged = await fetch(`${bff}/v1/registrations/${id}/return`, {
        redirect: 'manual',
        headers: { cookie: `${COOKIE}=${'A'.repeat(43)}` },
      });
      expect(forged.headers.get('location')).toBe(`${FRONTEND_ORIGIN}/?registration=${id}&status=awaiting_private_key`);
      const other = new ScriptedBrowser();
      await register(other, newMember('other'));
      const otherReturn = await other.request(`${bff}/v1/registrations/${id}/return`);
      expect(otherReturn.headers.get('location')).toBe(`${FRONTEND_ORIGIN}/?registration=${id}&status=awaiting_private_key`);
      const confirm = await other.request(`${bff}/v1/registrations/${id}/return`, { method: 'POST', headers: { 'x-csrf': '1' } });
      expect(confirm.status).toBe(200);
      expect((await json(confirm)).status).toBe('awaiting_private_key');
      expect(await statusOf(id)).toBe('awaiting_private_key');

      // The creating browser completes it.
      const back = await owner.request(`${bff}/v1/registrations/${id}/return`);
      expect(back.status).toBe(303);
      expect(back.headers.get('location')).toBe(`${FRONTEND_ORIGIN}/?registration=${id}&status=completed`);
      expect(await statusOf(id)).toBe('completed');
      // Now anyone sees the current status: completed.
      const later = await fetch(`${bff}/v1/registrations/${id}/return`, { redirect: 'manual' });
      expect(later.headers.get('location')).toBe(`${FRONTEND_ORIGIN}/?registration=${id}&status=completed`);
    });

    it('the cookie on POST …/return needs X-CSRF: 1', async () => {
      const owner = new ScriptedBrowser();
      const created = await json(await register(owner, newMember('csrf')));
      const refused = await owner.request(`${bff}/v1/registrations/${created.registrationId}/return`, { method: 'POST' });
      expect(refused.status).toBe(403);
      expect((await json(refused)).code).toBe('csrf_header_missing');
      expect(await statusOf(created.registrationId!)).toBe('awaiting_private_key');
    });

    it('own form → Private Key form → connect → permissions, in the creating browser with no login', async () => {
      const member = newMember('webconn');
      const browser = new ScriptedBrowser();
      const created = await json(await register(browser, member, { returnTo: '/registered' }));

      // Not before the Private Key form has come back.
      const early = await startConnection(browser);
      expect(early.status).toBe(401);
      expect((await json(early)).code).toBe('session_required');

      const landing = await finishAtMydex(created.privateKeyUrl!, member, browser);
      expect(landing.url.toString()).toBe(`${FRONTEND_ORIGIN}/registered?registration=${created.registrationId}&status=completed`);

      // Cookie POSTs keep the CSRF rule; another browser has no binding; the session routes ignore it.
      const noCsrf = await startConnection(browser, {});
      expect(noCsrf.status).toBe(403);
      expect((await json(noCsrf)).code).toBe('csrf_header_missing');
      expect((await startConnection(new ScriptedBrowser())).status).toBe(401);
      expect((await browser.request(`${bff}/v1/session`)).status).toBe(401);

      const notYet = await json(await browser.request(`${bff}/v1/connections/me`));
      expect(notYet).toMatchObject({ connected: false });

      const started = await startConnection(browser, { 'x-csrf': '1' }, { returnTo: `${FRONTEND_ORIGIN}/connected` });
      expect(started.status).toBe(200);
      const { url, kind } = await json(started);
      expect(kind).toBe('first');
      // The emulator's DSSA shows the agreement at once: the Private Key form logged the member in there [I].
      const dssa = await browser.navigate(url!);
      expect(dssa.body).toContain('name="privateKey"');
      const back = await approveDssa(browser, url!, member, { stopAt: atFrontendOrApp });
      expect(back.url.toString()).toBe(`${FRONTEND_ORIGIN}/connected?connection=returned`);

      const me = await json(await browser.request(`${bff}/v1/connections/me`));
      expect(me).toMatchObject({ connected: true, permissions: { field_ds_personal_details: { read: true } } });
      const again = await startConnection(browser);
      expect(again.status).toBe(409);
      expect((await json(again)).code).toBe('already_connected');
    });

    it('the binding stands in only within the connect window after completion', async () => {
      const member = newMember('window');
      const browser = new ScriptedBrowser();
      const created = await json(await register(browser, member));
      const id = created.registrationId!;
      await finishAtMydex(created.privateKeyUrl!, member, browser);
      expect(await statusOf(id)).toBe('completed');
      expect((await browser.request(`${bff}/v1/connections/me`)).status).toBe(200);

      // 31 minutes later (the default window is 30).
      await stack.a.app
        .get(DataSource)
        .getRepository(Registration)
        .update({ id }, { completedAt: new Date(Date.now() - 31 * 60 * 1000) });
      const late = await browser.request(`${bff}/v1/connections/me`);
      expect(late.status).toBe(401);
      expect((await json(late)).code).toBe('session_required');
      expect((await startConnection(browser)).status).toBe(401);
    });
  });

  describe('native: the registrationSecret', () => {
    it('is answered once in the body (no cookie); the system browser cannot complete, the app confirms with it, then connects', async () => {
      const member = newMember('native');
      const app = new ScriptedBrowser(); // the app's HTTP client
      const createdResponse = await register(app, member, { client: 'native', returnTo: NATIVE_REDIRECT_URI });
      expect(createdResponse.status).toBe(201);
      expect(createdResponse.headers.getSetCookie().some((c) => c.startsWith(`${COOKIE}=`))).toBe(false);
      const created = await json(createdResponse);
      const secret = created.registrationSecret!;
      expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
      const id = created.registrationId!;

      // The Private Key form in the system browser, back through the BFF to the app's redirect URI: nothing completed yet.
      const systemBrowser = new ScriptedBrowser();
      const form = await systemBrowser.navigate(created.privateKeyUrl!);
      const landing = await systemBrowser.submit(
        form,
        { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
        { stopAt: atFrontendOrApp },
      );
      expect(landing.url.toString()).toBe(`${NATIVE_REDIRECT_URI}?registration=${id}&status=awaiting_private_key`);
      expect(await statusOf(id)).toBe('awaiting_private_key');

      // Only the secret confirms; a wrong one changes nothing.
      const confirm = (headers: Record<string, string>) => fetch(`${bff}/v1/registrations/${id}/return`, { method: 'POST', headers });
      expect((await json(await confirm({}))).status).toBe('awaiting_private_key');
      expect((await json(await confirm({ 'x-registration-secret': 'B'.repeat(43) }))).status).toBe('awaiting_private_key');
      expect((await json(await confirm({ 'x-registration-secret': 'not a secret at all' }))).status).toBe('awaiting_private_key');
      expect(await statusOf(id)).toBe('awaiting_private_key');
      const confirmed = await confirm({ 'x-registration-secret': secret });
      expect(confirmed.status).toBe(200);
      expect(await json(confirmed)).toMatchObject({ registrationId: id, status: 'completed' });

      // The header stands in for the session on the connection routes (no CSRF header needed: not a cookie).
      const asApp = (path: string, init: RequestInit = {}) =>
        fetch(`${bff}${path}`, { ...init, headers: { ...init.headers, 'x-registration-secret': secret } });
      const started = await asApp('/v1/connections', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ returnTo: NATIVE_REDIRECT_URI }),
      });
      expect(started.status).toBe(200);
      const { url } = await json(started);
      const back = await approveDssa(systemBrowser, url!, member, { stopAt: atFrontendOrApp });
      expect(back.url.toString()).toBe(`${NATIVE_REDIRECT_URI}?connection=returned`);
      const me = await json(await asApp('/v1/connections/me'));
      expect(me).toMatchObject({ connected: true });
      expect(me.permissions).toHaveProperty('field_ds_contact_details');
      // The secret is a native credential: as a cookie it is not accepted.
      const asCookie = await fetch(`${bff}/v1/connections/me`, { headers: { cookie: `${COOKIE}=${secret}` } });
      expect(asCookie.status).toBe(401);
    });
  });

  describe('a session without a MydexID', () => {
    it('starts the First Time Connection without one; the member registers at Mydex and the connection is found again', async () => {
      const sessions = stack.a.app.get(SessionsService);
      const { token } = await sessions.create({
        client: 'web',
        issuer: stack.emulator.issuer,
        sub: 'f'.repeat(64),
        mydexid: null,
        idToken: null,
      });
      const browser = new ScriptedBrowser();
      browser.jar.setCookie(new URL(bff), `bff_session=${token}; Path=/`);

      const started = await startConnection(browser, { 'x-csrf': '1' }, { returnTo: `${FRONTEND_ORIGIN}/connected` });
      expect(started.status, JSON.stringify(await started.clone().json())).toBe(200);
      const { url, kind } = await json(started);
      expect(kind).toBe('first');

      // Mydex's page asks the member to log in or register.
      const login = await browser.navigate(url!);
      expect(login.body).toContain('No MydexID yet?');
      const member = newMember('anon');
      const agreement = await browser.submit(await browser.navigate(`${url}/register`), {
        mydexid: member.mydexid,
        email: member.email,
        password: member.password,
        privateKey: member.privateKey,
        privateKeyConfirmation: member.privateKey,
        termsAccepted: 'yes',
      });
      const back = await browser.submit(agreement, { privateKey: member.privateKey }, { stopAt: atFrontendOrApp });
      expect(back.url.toString()).toBe(`${FRONTEND_ORIGIN}/connected?connection=returned`);

      const me = await json(await browser.request(`${bff}/v1/connections/me`));
      expect(me).toMatchObject({ connected: true });
      const again = await startConnection(browser);
      expect(again.status).toBe(409);
      expect((await json(again)).code).toBe('already_connected');
    });
  });
});
