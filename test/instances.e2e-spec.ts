import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember, registerThroughLaca } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { RATE_LIMIT_GROUPS } from '../src/rate-limit/rate-limit.groups.js';
import type { TestApp } from './support/app.js';
import { registerWebMember, startBffStack, type BffStack } from './support/bff-stack.js';
import { POSTGRES_URL } from './support/database.js';
import { atCallback, atFrontendOrApp, FRONTEND_ORIGIN, NATIVE_REDIRECT_URI, startWebFlow } from './support/oidc-browser.js';

/**
 * Several BFF instances behind one address, as behind a load balancer: two instances on one
 * database (PostgreSQL when TEST_DATABASE_URL is set, else one SQLite file) and the emulator. Every
 * piece of state is in the database, so a flow may start on one instance and end on another.
 */

const ENGINE = POSTGRES_URL ? 'postgres' : 'sqlite';
const REDIS_URL = process.env.TEST_REDIS_URL;
const RETURN_TO = `${FRONTEND_ORIGIN}/after-login`;

if (!POSTGRES_URL)
  process.stdout.write('instances: TEST_DATABASE_URL is not set, so both instances share one SQLite file instead of PostgreSQL.\n');
if (!REDIS_URL) process.stdout.write('instances: the shared rate limit is skipped: TEST_REDIS_URL is not set (.ci/run sets it).\n');

const withCookie = (base: string, cookie: string, path = '/v1/session', init: RequestInit = {}) =>
  fetch(`${base}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), cookie: `bff_session=${cookie}` } });

describe(`two BFF instances on one ${ENGINE} database`, () => {
  let stack: BffStack;
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    stack = await startBffStack({ engine: ENGINE });
    a = stack.a;
    b = await stack.startInstance();
  });
  afterAll(async () => stack?.close());

  it('finishes on B a web login started on A (transaction, PKCE verifier and browser binding are shared)', async () => {
    const member = newMember('ab');
    const browser = new ScriptedBrowser();
    const { authorizationUrl } = await startWebFlow(browser, a.url, { intent: 'register', email: member.email, returnTo: RETURN_TO });
    const atA = await registerThroughLaca(browser, authorizationUrl, member, { stopAt: atCallback });
    expect(atA.url.origin).toBe(stack.publicBaseUrl);
    const callbackOnB = new URL(atA.url.pathname + atA.url.search, b.url);
    const landing = await browser.navigate(callbackOnB, {}, { stopAt: atFrontendOrApp });
    expect(landing.url.href).toBe(RETURN_TO);
    const cookie = browser.jar.get('bff_session', b.url)!;
    expect(cookie).toBeTruthy();
    const onA = await withCookie(a.url, cookie);
    expect(onA.status).toBe(200);
    expect(((await onA.json()) as { member: { mydexid: string } }).member.mydexid).toBe(member.mydexid);
  });

  it('finishes on B a native login started on A, and the bearer token from B works on A', async () => {
    const member = newMember('native');
    const start = await fetch(`${a.url}/v1/auth/oidc/authorize`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ intent: 'register', client: 'native', appRedirectUri: NATIVE_REDIRECT_URI }),
    });
    expect(start.status).toBe(200);
    const { authorizationUrl, exchangeSecret } = (await start.json()) as { authorizationUrl: string; exchangeSecret: string };
    const browser = new ScriptedBrowser();
    const atA = await registerThroughLaca(browser, authorizationUrl, member, { stopAt: atCallback });
    const toApp = await browser.navigate(new URL(atA.url.pathname + atA.url.search, b.url), {}, { stopAt: atFrontendOrApp });
    expect(toApp.url.protocol).toBe('com.example.app:');
    const code = toApp.url.searchParams.get('code')!;
    const exchanged = await fetch(`${b.url}/v1/auth/session/exchange`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ code, exchangeSecret }),
    });
    expect(exchanged.status).toBe(200);
    const { sessionToken } = (await exchanged.json()) as { sessionToken: string };
    const onA = await fetch(`${a.url}/v1/session`, { headers: { authorization: `Bearer ${sessionToken}` } });
    expect(onA.status).toBe(200);
    expect(((await onA.json()) as { member: { mydexid: string } }).member.mydexid).toBe(member.mydexid);
  });

  it('serves on B a session made on A, and a logout on B ends it on A', async () => {
    const { cookie, member } = await registerWebMember(a.url);
    const onB = await withCookie(b.url, cookie);
    expect(onB.status).toBe(200);
    expect(((await onB.json()) as { member: { mydexid: string } }).member.mydexid).toBe(member.mydexid);

    const logout = await withCookie(b.url, cookie, '/v1/session/logout', {
      method: 'POST',
      headers: { 'x-csrf': '1', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(logout.status).toBe(200);
    expect((await withCookie(a.url, cookie)).status).toBe(401);
    expect((await withCookie(b.url, cookie)).status).toBe(401);
  });

  it('shows on B an own-form registration created on A', async () => {
    const member = newMember('ownform');
    const created = await fetch(`${a.url}/v1/registrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mydexid: member.mydexid, email: member.email, password: member.password }),
    });
    expect(created.status).toBe(201);
    const { registrationId } = (await created.json()) as { registrationId: string };
    const onB = await fetch(`${b.url}/v1/registrations/${registrationId}`);
    expect(onB.status).toBe(200);
    expect(await onB.json()).toMatchObject({ registrationId, status: 'awaiting_private_key', strategy: 'own_form' });
  });

  it.skipIf(!REDIS_URL)('shares the per-IP rate limit between the instances through Redis', async () => {
    const limited = { RATE_LIMITS: 'on', REDIS_URL: REDIS_URL!, TRUSTED_PROXIES: '127.0.0.1' };
    const c = await stack.startInstance(limited);
    const d = await stack.startInstance(limited);
    // A client address of our own (believed from the trusted proxy 127.0.0.1), so counters of other
    // suites on the same Redis cannot meet ours, and ours start at zero.
    const client = `2001:db8:${randomBytes(2).toString('hex')}::${randomBytes(2).toString('hex')}`;
    const redis = new Redis(REDIS_URL!);
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
    const limit = RATE_LIMIT_GROUPS.find((group) => group.name === 'registrations')!.limit;
    const hit = (instance: TestApp) =>
      fetch(`${instance.url}/v1/registrations/${randomUUID()}`, { headers: { 'x-forwarded-for': client } });
    const statuses: number[] = [];
    for (let i = 0; i < limit; i++) statuses.push((await hit(i % 2 === 0 ? c : d)).status);
    expect(statuses.every((status) => status === 404)).toBe(true);
    for (const instance of [c, d]) {
      const over = await hit(instance);
      expect(over.status).toBe(429);
      expect(over.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(((await over.json()) as { code: string }).code).toBe('rate_limited');
      expect(Number(over.headers.get('retry-after'))).toBeGreaterThan(0);
    }
    // Another client is not affected.
    expect(
      (
        await fetch(`${c.url}/v1/registrations/${randomUUID()}`, {
          headers: { 'x-forwarded-for': `2001:db8:${randomBytes(2).toString('hex')}::1` },
        })
      ).status,
    ).not.toBe(429);
  });
});
