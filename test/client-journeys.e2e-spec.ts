import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  approveDssa,
  completeLogin,
  completeLogout,
  newMember,
  registerThroughLaca,
  type NewMember,
} from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import {
  authorizeUrl,
  createBffClient,
  ok,
  ProblemError,
  type BffClient,
  type ConnectionStatus,
  type RegistrationCreated,
  type Session,
} from '../clients/typescript/src/index.js';
import { startBffStack, type BffStack } from './support/bff-stack.js';
import { ENGINES } from './support/database.js';
import { atFrontendOrApp, FRONTEND_ORIGIN, NATIVE_REDIRECT_URI } from './support/oidc-browser.js';

/**
 * The typed client (clients/typescript, docs/demo.md) against the real BFF and the Mydex emulator: the
 * own-form registration (→ connect without logging in) and the OIDC journeys (web and native), with every
 * BFF call a frontend makes going through the client. The browser only follows Mydex's pages and the
 * redirects back through the BFF's navigation routes; the test records every request and checks that.
 */

/** One request a browser (or the client's fetch) sent. */
interface Sent {
  viaClient: boolean;
  method: string;
  url: URL;
  headers: Headers;
}

/** A scripted browser that records what it sends, and whose jar the client's fetch shares (as in a page). */
class RecordingBrowser extends ScriptedBrowser {
  readonly sent: Sent[] = [];
  private viaClient = false;

  override async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    this.sent.push({
      viaClient: this.viaClient,
      method: (init.method ?? 'GET').toUpperCase(),
      url: new URL(url),
      headers: new Headers(init.headers),
    });
    return super.request(url, init);
  }

  /** The client's `fetch`: the Request openapi-fetch built, sent with this browser's cookies. */
  readonly clientFetch = async (request: Request): Promise<Response> => {
    const body = request.body === null ? undefined : await request.arrayBuffer();
    this.viaClient = true;
    try {
      return await this.request(request.url, { method: request.method, headers: request.headers, body });
    } finally {
      this.viaClient = false;
    }
  };

  /** What this browser sent to the BFF outside the client: only navigations (GET) to these routes are expected. */
  navigationsTo(origin: string): string[] {
    return this.sent
      .filter((s) => !s.viaClient && s.url.origin === origin)
      .map((s) => `${s.method} ${s.url.pathname.replace(/[0-9a-f-]{36}/, '{id}')}`);
  }

  clientCalls(): Sent[] {
    return this.sent.filter((s) => s.viaClient);
  }
}

/** The BFF routes a browser reaches by following a redirect (from Mydex, or the authorize navigation). */
const NAVIGATION_ROUTES = new Set([
  'GET /v1/auth/oidc/authorize',
  'GET /v1/auth/oidc/callback',
  'GET /v1/registrations/{id}/return',
  'GET /v1/connections/return',
]);

describe.each(ENGINES)('the typed client against the emulator (%s)', (engine) => {
  let stack: BffStack;
  let bffUrl: string;

  beforeAll(async () => {
    stack = await startBffStack({ engine });
    bffUrl = stack.a.url;
  });
  afterAll(async () => {
    await stack?.close();
  });

  /** A web frontend's client in `browser` (cookies from its jar), and the browser. */
  function webClient(browser = new RecordingBrowser()): { browser: RecordingBrowser; bff: BffClient } {
    return { browser, bff: createBffClient({ baseUrl: bffUrl, mode: 'web', fetch: browser.clientFetch }) };
  }

  function expectOnlyNavigations(browser: RecordingBrowser): void {
    for (const visit of browser.navigationsTo(bffUrl)) expect(NAVIGATION_ROUTES.has(visit), visit).toBe(true);
  }

  it('own form: checks, registers, Mydex Private Key form, "completed", connects without a login, reads the permissions', async () => {
    const { browser, bff } = webClient();
    const member = newMember('client');

    const check = await ok(bff.POST('/v1/validation/registration', { body: { mydexid: '12345', email: member.email, password: '12345' } }));
    expect(check.valid).toBe(false);
    expect(check.errors.map((e) => `${e.field}:${e.code}`)).toContain('mydexid:mydexid_digits_only');
    expect(
      await ok(
        bff.POST('/v1/validation/registration', { body: { mydexid: member.mydexid, email: member.email, password: member.password } }),
      ),
    ).toEqual({ valid: true, errors: [] });

    const created: RegistrationCreated = await ok(
      bff.POST('/v1/registrations', {
        body: { mydexid: member.mydexid, email: member.email, password: member.password, returnTo: `${FRONTEND_ORIGIN}/` },
      }),
    );
    expect(created.status).toBe('awaiting_private_key');
    expect(await ok(bff.GET('/v1/registrations/{id}', { params: { path: { id: created.registrationId } } }))).toMatchObject({
      status: 'awaiting_private_key',
    });

    // Mydex's Private Key form (the emulator's page), then back through the BFF's return route.
    const form = await browser.navigate(created.privateKeyUrl);
    const landing = await browser.submit(
      form,
      { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
      { stopAt: atFrontendOrApp },
    );
    expect(landing.url.searchParams.get('registration')).toBe(created.registrationId);
    expect(landing.url.searchParams.get('status')).toBe('completed');
    expect(await ok(bff.GET('/v1/registrations/{id}', { params: { path: { id: created.registrationId } } }))).toMatchObject({
      status: 'completed',
    });

    // No session, but this browser may connect for a while (the registration binding).
    await expect(bff.GET('/v1/session')).rejects.toMatchObject({ status: 401, code: 'session_required' });
    expect(await ok(bff.GET('/v1/connections/me'))).toMatchObject({ connected: false });
    const started = await ok(bff.POST('/v1/connections', { body: { returnTo: `${FRONTEND_ORIGIN}/` } }));
    expect(started.kind).toBe('first');
    const back = await approveDssa(browser, started.url, member, { stopAt: atFrontendOrApp });
    expect(back.url.searchParams.get('connection')).toBe('returned');
    const connection: ConnectionStatus = await ok(bff.GET('/v1/connections/me'));
    expect(connection).toMatchObject({ connected: true, permissions: { field_ds_personal_details: { read: true } } });

    // Every state-changing call carried X-CSRF: 1 (the BFF refuses the cookie without it), none a bearer token.
    const calls = browser.clientCalls();
    expect(calls.filter((c) => c.method === 'POST').length).toBeGreaterThanOrEqual(4);
    for (const call of calls) {
      expect(call.headers.get('x-csrf'), `${call.method} ${call.url.pathname}`).toBe(call.method === 'GET' ? null : '1');
      expect(call.headers.get('authorization')).toBeNull();
    }
    expectOnlyNavigations(browser);
  });

  it('own form: a refusal is a ProblemError with the status, code, title, detail, errors[] and request id', async () => {
    const { browser, bff } = webClient();
    const refused = await bff
      .POST('/v1/registrations', { body: { mydexid: '12345', email: 'nope', password: '12345' } })
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(ProblemError);
    const problem = refused as ProblemError;
    expect(problem).toMatchObject({ status: 422, code: 'validation_failed', title: expect.any(String), detail: expect.any(String) });
    expect(problem.requestId).toMatch(/\S/);
    expect(problem.requestId).toBe(problem.problem?.requestId);
    expect(problem.fieldErrors('mydexid').map((e) => e.code)).toContain('mydexid_digits_only');
    expect(new Set(problem.errors.map((e) => e.field))).toEqual(new Set(['mydexid', 'email', 'password']));

    // A MydexID Mydex already has (in another letter case): 409 with the field marked.
    const member = newMember('taken');
    const first = await ok(
      bff.POST('/v1/registrations', {
        body: { mydexid: member.mydexid, email: member.email, password: member.password, returnTo: `${FRONTEND_ORIGIN}/` },
      }),
    );
    const form = await browser.navigate(first.privateKeyUrl);
    await browser.submit(
      form,
      { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
      { stopAt: atFrontendOrApp },
    );
    const other = newMember('other');
    const taken = await bff
      .POST('/v1/registrations', { body: { mydexid: member.mydexid.toUpperCase(), email: other.email, password: other.password } })
      .catch((error: unknown) => error);
    expect(taken).toBeInstanceOf(ProblemError);
    expect(taken).toMatchObject({ status: 409, code: 'mydexid_taken' });
    expect((taken as ProblemError).fieldErrors('mydexid')).toHaveLength(1);
    expectOnlyNavigations(browser);
  });

  it('OIDC (web): registers at Mydex, the session, connects, logs out at Mydex, then logs in again', async () => {
    const { browser, bff } = webClient();
    const member: NewMember = newMember('clientweb');

    const register = await ok(
      bff.POST('/v1/auth/oidc/authorize', { body: { intent: 'register', email: member.email, returnTo: `${FRONTEND_ORIGIN}/` } }),
    );
    expect(register.exchangeSecret).toBeUndefined();
    const registered = await registerThroughLaca(browser, register.authorizationUrl, member, { stopAt: atFrontendOrApp });
    expect(registered.url.toString()).toBe(`${FRONTEND_ORIGIN}/`);

    const session: Session = await ok(bff.GET('/v1/session'));
    expect(session).toMatchObject({ member: { mydexid: member.mydexid }, connected: false });

    const started = await ok(bff.POST('/v1/connections', { body: {} }));
    await approveDssa(browser, started.url, member, { stopAt: atFrontendOrApp });
    expect(await ok(bff.GET('/v1/connections/me'))).toMatchObject({ connected: true });
    expect(await ok(bff.GET('/v1/session'))).toMatchObject({ connected: true });

    const { endSessionUrl } = await ok(bff.POST('/v1/session/logout', { body: {} }));
    expect(endSessionUrl).toMatch(/^http/);
    const loggedOut = await completeLogout(browser, endSessionUrl!, { stopAt: atFrontendOrApp });
    expect(loggedOut.url.origin).toBe(FRONTEND_ORIGIN);
    await expect(bff.GET('/v1/session')).rejects.toMatchObject({ name: 'ProblemError', status: 401, code: 'session_required' });

    // Log in again, this time by navigation (the URL the demo page opens), built by the client.
    const loginUrl = authorizeUrl(bffUrl, { intent: 'login', client: 'web', returnTo: `${FRONTEND_ORIGIN}/` });
    expect(new URL(loginUrl).pathname).toBe('/v1/auth/oidc/authorize');
    const back = await completeLogin(browser, loginUrl, member, { stopAt: atFrontendOrApp });
    expect(back.url.toString()).toBe(`${FRONTEND_ORIGIN}/`);
    expect(await ok(bff.GET('/v1/session'))).toMatchObject({ member: { mydexid: member.mydexid }, connected: true });
    expectOnlyNavigations(browser);
  });

  it('OIDC (native): registers at Mydex, exchanges the code for a bearer token, the session, logs out', async () => {
    const browser = new RecordingBrowser();
    /** The app's token store (a keychain in a real app): empty until the exchange. */
    const stored: { token?: string } = {};
    const bff = createBffClient({ baseUrl: bffUrl, mode: 'native', getSessionToken: () => stored.token, fetch: browser.clientFetch });
    const member = newMember('clientapp');

    const started = await ok(
      bff.POST('/v1/auth/oidc/authorize', { body: { intent: 'register', client: 'native', appRedirectUri: NATIVE_REDIRECT_URI } }),
    );
    expect(started.exchangeSecret).toEqual(expect.any(String));
    // The system browser at Mydex (its own cookies), back to the app's redirect URI with a one-time code.
    const landing = await registerThroughLaca(new ScriptedBrowser(), started.authorizationUrl, member, { stopAt: atFrontendOrApp });
    const code = landing.url.searchParams.get('code');
    expect(code).toEqual(expect.any(String));

    await expect(bff.POST('/v1/auth/session/exchange', { body: { code: code!, exchangeSecret: 'not-the-secret' } })).rejects.toMatchObject({
      status: 400,
      code: 'exchange_code_invalid',
    });
    const exchanged = await ok(bff.POST('/v1/auth/session/exchange', { body: { code: code!, exchangeSecret: started.exchangeSecret! } }));
    stored.token = exchanged.sessionToken;
    expect(exchanged.member).toMatchObject({ mydexid: member.mydexid });

    expect(await ok(bff.GET('/v1/session'))).toMatchObject({ member: { mydexid: member.mydexid }, connected: false });
    await ok(bff.POST('/v1/session/logout', { body: { postLogoutRedirectUri: NATIVE_REDIRECT_URI } }));
    await expect(bff.GET('/v1/session')).rejects.toMatchObject({ status: 401, code: 'session_required' });

    // The token went as a bearer once there was one (none before); never X-CSRF.
    const calls = browser.clientCalls();
    const firstSession = calls.findIndex((c) => c.url.pathname === '/v1/session');
    expect(calls.slice(firstSession).length).toBeGreaterThanOrEqual(3);
    for (const [index, call] of calls.entries()) {
      expect(call.headers.get('authorization'), `${call.method} ${call.url.pathname}`).toBe(
        index < firstSession ? null : `Bearer ${stored.token}`,
      );
      expect(call.headers.get('x-csrf')).toBeNull();
    }
    expect(browser.navigationsTo(bffUrl)).toEqual([]);
  });

  it('turns a BFF that cannot be reached into a ProblemError with status 0 and code network_error', async () => {
    const bff = createBffClient({ baseUrl: 'http://127.0.0.1:9', mode: 'web' });
    await expect(bff.GET('/v1/session')).rejects.toMatchObject({ name: 'ProblemError', status: 0, code: 'network_error' });
  });
});
