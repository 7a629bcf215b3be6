import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { startEmulator, type RunningEmulator } from '../../emulator/emulator.js';
import { CookieJar } from '../../emulator/testing/cookie-jar.js';
import { newMember, registerThroughLaca, type NewMember } from '../../emulator/testing/journeys.js';
import { ScriptedBrowser, type Landing } from '../../emulator/testing/scripted-browser.js';
import { LOCAL_EMULATOR } from '../../src/config/environment.js';
import { startTestApp, type TestApp } from './app.js';
import { freePort } from '../../emulator/testing/free-port.js';

/** A scripted browser: one cookie jar, no automatic redirects (each test follows them on purpose). */
export class TestBrowser {
  readonly jar = new CookieJar();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.jar.store(url, response);
    return response;
  }

  /** POSTs JSON as the frontend's fetch with credentials would. */
  postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  }
}


/** Rows in a table of the app's database (sessions, registrations, oidc_transactions). */
export async function countRows(app: NestFastifyApplication, table: 'sessions' | 'registrations' | 'oidc_transactions'): Promise<number> {
  const [row] = (await app.get(DataSource).query(`SELECT COUNT(*) AS n FROM ${table}`)) as { n: number | string }[];
  return Number(row?.n ?? 0);
}

/** The `error` query parameter of a redirect target, and the target without it. */
export function redirectError(location: string | null): { error: string | null; base: string } {
  const url = new URL(location ?? 'about:blank');
  const error = url.searchParams.get('error');
  url.searchParams.delete('error');
  return { error, base: url.href };
}

export const FRONTEND_ORIGIN = 'https://app.example';
export const NATIVE_REDIRECT_URI = 'com.example.app:/oauth/callback';

export interface OidcStack {
  emulator: RunningEmulator;
  t: TestApp;
  /** The BFF's PUBLIC_BASE_URL (the same for every instance, as behind a load balancer). */
  publicBaseUrl: string;
  /** Another BFF instance on the same database and PUBLIC_BASE_URL. */
  startSecondInstance(): Promise<TestApp>;
  close(): Promise<void>;
}

/**
 * The Mydex emulator and a BFF pointed at it: the BFF's port is chosen first so the emulator can
 * register its callback URL as redirect URI, as a subscriber registers it with Mydex.
 */
export async function startOidcStack(engine: 'sqlite' | 'postgres' = 'sqlite', env: Record<string, string> = {}): Promise<OidcStack> {
  const port = await freePort();
  const publicBaseUrl = `http://127.0.0.1:${port}`;
  const emulator = await startEmulator({
    port: 0,
    clientId: LOCAL_EMULATOR.clientId,
    clientSecret: LOCAL_EMULATOR.clientSecret,
    redirectUris: [`${publicBaseUrl}/v1/auth/oidc/callback`],
    // The emulator's client is a web client: its post-logout redirect URIs must be web URIs.
    postLogoutRedirectUris: [`${FRONTEND_ORIGIN}/`],
  });
  const bffEnv = {
    MYDEX_ISSUER: emulator.issuer,
    MYDEX_CLIENT_ID: LOCAL_EMULATOR.clientId,
    MYDEX_CLIENT_SECRET: LOCAL_EMULATOR.clientSecret,
    PUBLIC_BASE_URL: publicBaseUrl,
    FRONTEND_ORIGINS: FRONTEND_ORIGIN,
    NATIVE_REDIRECT_URIS: NATIVE_REDIRECT_URI,
    ...env,
  };
  let t: TestApp;
  try {
    t = await startTestApp(bffEnv, engine, { port });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  const others: TestApp[] = [];
  return {
    emulator,
    t,
    publicBaseUrl,
    async startSecondInstance() {
      const other = await startTestApp(bffEnv, engine, { database: t.database });
      others.push(other);
      return other;
    },
    async close() {
      for (const other of others) await other.close();
      await t.close();
      await emulator.close();
    },
  };
}

/** The web frontend's fetch to POST /v1/auth/oidc/authorize (credentials included: the binding cookie). */
export async function startWebFlow(
  browser: ScriptedBrowser,
  bffUrl: string,
  body: Record<string, unknown>,
): Promise<{ authorizationUrl: string; transactionId: string }> {
  const response = await browser.request(`${bffUrl}/v1/auth/oidc/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) throw new Error(`authorize answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as { authorizationUrl: string; transactionId: string };
}

/**
 * Registers `member` through the BFF's web flow (action=register at the emulator's LaCa, email
 * hint passed) in a fresh browser, ending at the frontend (`returnTo`, by default its root). Answers
 * the browser, which then holds the BFF's session cookie, and the landing.
 */
export async function registerWebMember(
  bffUrl: string,
  member: NewMember = newMember('stack'),
  options: { returnTo?: string } = {},
): Promise<{ browser: ScriptedBrowser; member: NewMember; cookie: string; landing: Landing }> {
  const browser = new ScriptedBrowser();
  const returnTo = options.returnTo ?? `${FRONTEND_ORIGIN}/`;
  const { authorizationUrl } = await startWebFlow(browser, bffUrl, { intent: 'register', email: member.email, returnTo });
  const landing = await registerThroughLaca(browser, authorizationUrl, member, { stopAt: atFrontendOrApp });
  const cookie = browser.jar.get('bff_session', bffUrl);
  if (!cookie) throw new Error(`no session cookie after registering (landed on ${landing.url.href})`);
  return { browser, member, cookie, landing };
}

/**
 * A native app's session: POST /v1/auth/oidc/authorize for a native client, a member registered at
 * the emulator's LaCa, and the code exchanged for the bearer session token.
 */
export async function nativeSessionToken(bffUrl: string, member: NewMember): Promise<string> {
  const started = await fetch(`${bffUrl}/v1/auth/oidc/authorize`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ intent: 'register', client: 'native', appRedirectUri: NATIVE_REDIRECT_URI }),
  });
  if (started.status !== 200) throw new Error(`authorize answered ${started.status}: ${await started.text()}`);
  const { authorizationUrl, exchangeSecret } = (await started.json()) as { authorizationUrl: string; exchangeSecret: string };
  const landing = await registerThroughLaca(new ScriptedBrowser(), authorizationUrl, member, { stopAt: atFrontendOrApp });
  const exchanged = await fetch(`${bffUrl}/v1/auth/session/exchange`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ code: landing.url.searchParams.get('code'), exchangeSecret }),
  });
  if (exchanged.status !== 200) throw new Error(`session exchange answered ${exchanged.status}: ${await exchanged.text()}`);
  return ((await exchanged.json()) as { sessionToken: string }).sessionToken;
}

/** Stops a browser journey where it leaves for the frontend or the native app. */
export const atFrontendOrApp = (url: URL) => url.origin === FRONTEND_ORIGIN || url.protocol === 'com.example.app:';
/** Stops a browser journey just before the BFF's callback (to replay or divert it). */
export const atCallback = (url: URL) => url.pathname === '/v1/auth/oidc/callback';
