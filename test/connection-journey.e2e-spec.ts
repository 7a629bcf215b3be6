import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { approveDssa, newMember, registerThroughLaca, type NewMember } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { LOCAL_EMULATOR } from '../src/config/environment.js';
import { ConnectionEvent } from '../src/connection/connection.entity.js';
import { ConnectionsService } from '../src/connection/connections.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { dumpAllTables, NID, TEST_DATA_KEY } from './support/connection-callback.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';
import { atFrontendOrApp, FRONTEND_ORIGIN, NATIVE_REDIRECT_URI, nativeSessionToken, startWebFlow } from './support/oidc-browser.js';
import { freePort } from '../emulator/testing/free-port.js';

/**
 * The whole journey against the Mydex emulator: a member registers (and so logs in) through the BFF,
 * starts a First Time Connection, approves the Data Sharing Agreement at "Mydex", whose callback
 * reaches the BFF; then the agreement version goes up and the member re-approves (a PUT).
 */
describe.each(ENGINES)('connecting a PDS through the emulator on %s', (engine) => {
  let emulator: RunningEmulator;
  let database: DatabaseTarget;
  let port: number;
  let bff: TestApp | undefined;
  let env: Record<string, string>;
  const browser = new ScriptedBrowser();
  let member: NewMember;
  let connectionId: string;

  const startBff = async (version: string) => {
    await bff?.close();
    bff = await startTestApp({ ...env, MYDEX_CONNECTION_VERSION: version }, engine, { port, database });
  };
  const api = (path: string, init: RequestInit = {}) => browser.request(`${bff!.url}${path}`, init);
  const startConnection = (body: unknown, csrf = true) =>
    api('/v1/connections', {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(csrf ? { 'x-csrf': '1' } : {}) },
      body: JSON.stringify(body),
    });
  interface Answer {
    code?: string;
    url?: string;
    kind?: string;
    connected?: boolean;
    connectionId?: string;
    uid?: number;
    permissions?: Record<string, unknown>;
    connectedAt?: string;
  }
  const json = async (response: Response) => (await response.json()) as Answer;

  beforeAll(async () => {
    port = await freePort();
    const publicBaseUrl = `http://127.0.0.1:${port}`;
    emulator = await startEmulator({
      port: 0,
      clientId: LOCAL_EMULATOR.clientId,
      clientSecret: LOCAL_EMULATOR.clientSecret,
      redirectUris: [`${publicBaseUrl}/v1/auth/oidc/callback`],
      postLogoutRedirectUris: [`${FRONTEND_ORIGIN}/`],
      callbackUrl: `${publicBaseUrl}/v1/connections/callback`,
      callbackRetryDelaysMs: [],
    });
    database = await freshDatabase(engine);
    env = {
      MYDEX_ISSUER: emulator.issuer,
      MYDEX_PDX_URL: emulator.url,
      MYDEX_CLIENT_ID: LOCAL_EMULATOR.clientId,
      MYDEX_CLIENT_SECRET: LOCAL_EMULATOR.clientSecret,
      PUBLIC_BASE_URL: publicBaseUrl,
      FRONTEND_ORIGINS: FRONTEND_ORIGIN,
      NATIVE_REDIRECT_URIS: NATIVE_REDIRECT_URI,
      DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
      MYDEX_TIMEOUT_MS: '5000',
    };
    await startBff('1');
    member = newMember('conn');
    const { authorizationUrl } = await startWebFlow(browser, bff!.url, { intent: 'register', returnTo: `${FRONTEND_ORIGIN}/` });
    const landing = await registerThroughLaca(browser, authorizationUrl, member, { stopAt: atFrontendOrApp });
    expect(landing.url.origin).toBe(FRONTEND_ORIGIN);
  });
  afterAll(async () => {
    await bff?.close();
    await emulator?.close();
    await database?.drop();
  });

  it('shows a signed-in member who has not connected yet as not connected', async () => {
    const response = await api('/v1/connections/me');
    expect(response.status).toBe(200);
    expect(await json(response)).toEqual({
      connected: false,
      connectionId: null,
      uid: null,
      permissions: null,
      version: null,
      updateAvailable: false,
      connectedAt: null,
      notifications: [],
    });
  });

  it('refuses to start without a session, without the CSRF header, or with a returnTo off the allowlist', async () => {
    const anonymous = await fetch(`${bff!.url}/v1/connections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf': '1' },
      body: '{}',
    });
    expect(anonymous.status).toBe(401);
    expect((await json(anonymous)).code).toBe('session_required');
    const noCsrf = await startConnection({}, false);
    expect(noCsrf.status).toBe(403);
    expect((await json(noCsrf)).code).toBe('csrf_header_missing');
    const elsewhere = await startConnection({ returnTo: 'https://evil.example/' });
    expect(elsewhere.status).toBe(400);
    expect((await json(elsewhere)).code).toBe('return_to_not_allowed');
    expect(emulator.state.connections).toHaveLength(0);
  });

  it('connects: POST /v1/connections → DSSA approval → callback → connected', async () => {
    const started = await startConnection({ returnTo: `${FRONTEND_ORIGIN}/connected` });
    expect(started.status).toBe(200);
    const { url, kind } = await json(started);
    expect(kind).toBe('first');
    expect(url!.startsWith(emulator.url)).toBe(true);

    const landing = await approveDssa(browser, url!, member, { stopAt: atFrontendOrApp });
    // Through the BFF's return route, back to the frontend.
    expect(landing.chain.some((visited) => visited.startsWith(`${bff!.url}/v1/connections/return`))).toBe(true);
    expect(landing.url.toString()).toBe(`${FRONTEND_ORIGIN}/connected?connection=returned`);

    const [delivery] = emulator.state.deliveries;
    expect(delivery).toMatchObject({ method: 'POST' });
    const me = await json(await api('/v1/connections/me'));
    connectionId = me.connectionId!;
    expect(me).toMatchObject({
      connected: true,
      uid: expect.any(Number),
      version: 1,
      updateAvailable: false,
      connectedAt: expect.any(String),
    });
    expect(connectionId).toBe(`${me.uid}-${NID}`);
    expect(me.permissions).toEqual({
      field_ds_personal_details: { read: true, write: false, readStyle: 'automatic', writeStyle: null },
      field_ds_contact_details: { read: true, write: true, readStyle: 'automatic', writeStyle: 'on_request' },
    });
    expect(await bff!.app.get(ConnectionsService).memberKey(connectionId)).toBe(emulator.connectionKey(connectionId));

    const session = await json(await api('/v1/session'));
    expect(session.connected).toBe(true);
  });

  it('refuses a second start at the same agreement version with 409 already_connected', async () => {
    const again = await startConnection({});
    expect(again.status).toBe(409);
    expect((await json(again)).code).toBe('already_connected');
    // A frontend may also POST with no body at all.
    const bodiless = await api('/v1/connections', { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(bodiless.status).toBe(409);
  });

  it('updates: a newer agreement version → /api/connection/update → re-approval → PUT → version 2', async () => {
    await startBff('2');
    const before = await json(await api('/v1/connections/me'));
    expect(before).toMatchObject({ connected: true, version: 1, updateAvailable: true });

    const started = await startConnection({});
    expect(started.status).toBe(200);
    const { url, kind } = await json(started);
    expect(kind).toBe('update');
    const landing = await approveDssa(browser, url!, member, { stopAt: atFrontendOrApp });
    expect(landing.url.toString()).toBe(`${FRONTEND_ORIGIN}/?connection=returned`);

    expect(emulator.state.deliveries.map((d) => d.method)).toEqual(['POST', 'PUT']);
    const after = await json(await api('/v1/connections/me'));
    expect(after).toMatchObject({ connected: true, connectionId, version: 2, updateAvailable: false, connectedAt: before.connectedAt });
    expect(after.permissions?.field_ds_address_details).toEqual({ read: true, write: false, readStyle: 'automatic', writeStyle: null });

    const events = await bff!.app.get(DataSource).getRepository(ConnectionEvent).findBy({ connectionId });
    expect(events.map((e) => `${e.kind} ${e.method}`).sort()).toEqual(['connection POST', 'connection PUT']);
  });

  it('never lets the member key out: not in any response nor any table', async () => {
    const key = emulator.connectionKey(connectionId)!;
    expect(key.length).toBeGreaterThan(8);
    for (const path of ['/v1/connections/me', '/v1/session']) expect(await (await api(path)).text()).not.toContain(key);
    for (const [table, text] of Object.entries(await dumpAllTables(bff!.app.get(DataSource)))) expect(text, table).not.toContain(key);
  });

  it('sends the browser back to the first frontend origin when the returnTo is not allowed', async () => {
    const response = await fetch(`${bff!.url}/v1/connections/return?returnTo=${encodeURIComponent('https://evil.example/x')}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${FRONTEND_ORIGIN}/?connection=returned`);
  });

  it('connects a native app member and sends the browser back to the app, never a web member', async () => {
    const appMember = newMember('app');
    const token = await nativeSessionToken(bff!.url, appMember);
    const asApp = (path: string, init: RequestInit = {}) =>
      fetch(`${bff!.url}${path}`, { ...init, headers: { ...init.headers, authorization: `Bearer ${token}` } });
    const start = (returnTo: string) =>
      asApp('/v1/connections', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ returnTo }) });

    // An app's redirect URI is only for native sessions, and only when allowlisted.
    expect((await json(await startConnection({ returnTo: NATIVE_REDIRECT_URI }))).code).toBe('return_to_not_allowed');
    expect((await json(await start('com.evil.app:/x'))).code).toBe('return_to_not_allowed');

    const started = await start(NATIVE_REDIRECT_URI);
    expect(started.status).toBe(200);
    const { url, kind } = await json(started);
    expect(kind).toBe('first');
    const landing = await approveDssa(new ScriptedBrowser(), url!, appMember, { stopAt: atFrontendOrApp });
    expect(landing.chain.some((visited) => visited.startsWith(`${bff!.url}/v1/connections/return`))).toBe(true);
    expect(landing.url.toString()).toBe(`${NATIVE_REDIRECT_URI}?connection=returned`);

    const me = await json(await asApp('/v1/connections/me'));
    expect(me).toMatchObject({ connected: true, connectionId: expect.any(String) });
    expect(me.connectionId).not.toBe(connectionId);
    expect(await (await asApp('/v1/session')).json()).toMatchObject({ connected: true, member: { mydexid: appMember.mydexid } });
  });

  it('sends a return to an app redirect URI off the allowlist to the first frontend origin instead', async () => {
    const response = await fetch(`${bff!.url}/v1/connections/return?returnTo=${encodeURIComponent('com.evil.app:/callback')}`, {
      redirect: 'manual',
    });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${FRONTEND_ORIGIN}/?connection=returned`);
  });
});
