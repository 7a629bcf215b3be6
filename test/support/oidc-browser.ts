import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { CookieJar } from '../../emulator/testing/cookie-jar.js';
import { newMember, registerThroughLaca, type NewMember } from '../../emulator/testing/journeys.js';
import { ScriptedBrowser, type Landing } from '../../emulator/testing/scripted-browser.js';

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
