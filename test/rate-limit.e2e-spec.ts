import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember } from '../emulator/testing/journeys.js';
import { RATE_LIMIT_GROUPS } from '../src/rate-limit/rate-limit.groups.js';
import { startTestApp, type TestApp } from './support/app.js';
import { startBffStack, type BffStack } from './support/bff-stack.js';
import { nativeSessionToken } from './support/oidc-browser.js';
import { sendRaw } from './support/raw-http.js';

const LIMIT = RATE_LIMIT_GROUPS.find((group) => group.name === 'validation')!.limit;
const REDIS_URL = process.env.TEST_REDIS_URL;
const apps: TestApp[] = [];
afterAll(async () => Promise.all(apps.map((app) => app.close())));

async function hit(url: string, times: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < times; i += 25) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(25, times - i) }, () =>
        request(url)
          .get('/v1/validation/rules')
          .then((r) => r.status),
      ),
    );
    statuses.push(...batch);
  }
  return statuses;
}

describe('rate limits per client IP', () => {
  it('answers 429 rate_limited with Retry-After once the limit is spent, and leaves other routes alone', async () => {
    const t = await startTestApp({ RATE_LIMITS: 'on' });
    apps.push(t);
    const statuses = await hit(t.url, LIMIT);
    expect(statuses.every((status) => status === 200)).toBe(true);
    const over = await request(t.url).get('/v1/validation/rules');
    expect(over.status).toBe(429);
    expect(over.headers['content-type']).toMatch(/problem\+json/);
    expect(over.body.code).toBe('rate_limited');
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await request(t.url).get('/health/live')).status).toBe(200);
  });

  it('counts every route of a group against one budget per client', async () => {
    const t = await startTestApp({ RATE_LIMITS: 'on' });
    apps.push(t);
    const limit = RATE_LIMIT_GROUPS.find((group) => group.name === 'registrations')!.limit;
    const half = Math.floor(limit / 2);
    const statuses: number[] = [];
    for (let i = 0; i < half; i++) statuses.push((await request(t.url).get(`/v1/registrations/${randomUUID()}`)).status);
    for (let i = half; i < limit; i++) statuses.push((await request(t.url).post('/v1/registrations').send({})).status);
    expect(statuses.filter((status) => status === 429)).toEqual([]);
    const over = await request(t.url).get(`/v1/registrations/${randomUUID()}`);
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('rate_limited');
    // Another group keeps its own budget.
    expect((await request(t.url).get('/v1/validation/rules')).status).toBe(200);
  });

  it('does not limit when RATE_LIMITS=off', async () => {
    const t = await startTestApp({ RATE_LIMITS: 'off' });
    apps.push(t);
    const statuses = await hit(t.url, LIMIT + 5);
    expect(statuses.filter((status) => status !== 200)).toEqual([]);
  });

  if (!REDIS_URL) process.stdout.write('Redis rate-limit test skipped: TEST_REDIS_URL is not set (.ci/run sets it).\n');
  it.skipIf(!REDIS_URL)('shares the limit across two instances through Redis', async () => {
    if (!REDIS_URL) return;
    // Counters of an earlier run may still be inside their window.
    const redis = new Redis(REDIS_URL);
    const stale = await redis.keys('bff:rl:*');
    if (stale.length) await redis.del(...stale);
    redis.disconnect();
    const a = await startTestApp({ RATE_LIMITS: 'on', REDIS_URL });
    const b = await startTestApp({ RATE_LIMITS: 'on', REDIS_URL });
    try {
      const half = Math.ceil(LIMIT / 2);
      const first = await hit(a.url, half);
      const second = await hit(b.url, LIMIT - half);
      expect([...first, ...second].every((status) => status === 200)).toBe(true);
      expect((await request(b.url).get('/v1/validation/rules')).status).toBe(429);
      expect((await request(a.url).get('/v1/validation/rules')).status).toBe(429);
    } finally {
      // Closed here, newest first, so REDIS_URL is unset again for the suites below.
      await b.close();
      await a.close();
    }
  });
});

const limitOf = (name: string) => RATE_LIMIT_GROUPS.find((group) => group.name === name)!.limit;
const json = (body: unknown) => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: Buffer.from(JSON.stringify(body)),
});

describe('rate limits follow the route the router matched, not the URL text', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ RATE_LIMITS: 'on' });
    apps.push(t);
  });

  it('counts and refuses POST /v1/%72egistrations against the registrations budget', async () => {
    const limit = limitOf('registrations');
    const statuses: number[] = [];
    for (let i = 0; i < limit - 1; i++) statuses.push((await request(t.url).get(`/v1/registrations/${randomUUID()}`)).status);
    // The percent-encoded spelling reaches the same route (422: an empty body), and is counted.
    const encoded = await sendRaw(t.url, { path: '/v1/%72egistrations', ...json({}) });
    expect(encoded.status).toBe(422);
    expect(statuses.filter((status) => status === 429)).toEqual([]);
    const over = await sendRaw(t.url, { path: '/v1/%72egistrations', ...json({}) });
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body)).toMatchObject({ code: 'rate_limited', status: 429 });
    expect(over.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect((await sendRaw(t.url, { path: '/v1/registration%73', ...json({}) })).status).toBe(429);
    expect((await request(t.url).post('/v1/registrations').send({})).status).toBe(429);
  });

  it('counts and refuses POST /v1/%61uth/session/exchange against the auth budget', async () => {
    const limit = limitOf('auth');
    const statuses: number[] = [];
    for (let i = 0; i < limit - 1; i += 20) {
      const batch = Array.from({ length: Math.min(20, limit - 1 - i) }, () =>
        request(t.url)
          .post('/v1/auth/session/exchange')
          .send({})
          .then((r) => r.status),
      );
      statuses.push(...(await Promise.all(batch)));
    }
    expect(statuses.filter((status) => status === 429)).toEqual([]);
    expect((await sendRaw(t.url, { path: '/v1/%61uth/session/exchange', ...json({}) })).status).not.toBe(429);
    const over = await sendRaw(t.url, { path: '/v1/%61uth/session/exchange', ...json({}) });
    expect(over.status).toBe(429);
    expect(JSON.parse(over.body).code).toBe('rate_limited');
    expect((await sendRaw(t.url, { path: '/v1/auth/oidc/%61uthorize', ...json({ intent: 'login' }) })).status).toBe(429);
    // The validation group keeps its own budget.
    expect((await sendRaw(t.url, { method: 'GET', path: '/v1/%76alidation/rules', headers: {} })).status).toBe(200);
  });
});

describe('per-member limit on POST /v1/connections', () => {
  let stack: BffStack;
  beforeAll(async () => {
    stack = await startBffStack({ env: { RATE_LIMITS: 'on' } });
  });
  afterAll(async () => stack?.close());

  it('answers 429 to a member after its budget, not to another member, and does not count unauthenticated calls', async () => {
    const limit = limitOf('connections');
    const [alice, bob] = [
      await nativeSessionToken(stack.a.url, newMember('rlalice')),
      await nativeSessionToken(stack.a.url, newMember('rlbob')),
    ];
    const start = (token?: string) =>
      request(stack.a.url)
        .post('/v1/connections')
        .set(token ? { authorization: `Bearer ${token}` } : {})
        .send({});
    for (let i = 0; i < limit + 2; i++) expect((await start()).status).toBe(401);
    const statuses: number[] = [];
    for (let i = 0; i < limit; i++) statuses.push((await start(alice)).status);
    expect(
      statuses.every((status) => status === 200),
      String(statuses),
    ).toBe(true);
    const over = await start(alice);
    expect(over.status).toBe(429);
    expect(over.body.code).toBe('rate_limited');
    expect(over.body.detail).toMatch(/member/);
    expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    expect((await start(bob)).status).toBe(200);
  });
});
