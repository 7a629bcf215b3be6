import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { newMember, type NewMember } from '../emulator/testing/journeys.js';
import type { TestApp } from './support/app.js';
import { captureOutput } from './support/capture-output.js';
import { ENGINES } from './support/database.js';
import { finishAtMydex, startBffFor } from './support/own-form.js';

/**
 * Account enumeration through own-form registration (docs/security.md): the per-address budget for
 * 409 answers and the global registration budget, against the Mydex emulator.
 *
 * Every app here logs at `warn`: nestjs-pino keeps one root logger per process, made by the first
 * app, so a quieter first app would silence the warning the global-budget test looks for.
 */
const REDIS_URL = process.env.TEST_REDIS_URL;
const LIMITED = { RATE_LIMITS: 'on', TRUSTED_PROXIES: '127.0.0.1', LOG_LEVEL: 'warn' };

describe.each(ENGINES)('registration enumeration budgets (%s)', (engine) => {
  let emulator: RunningEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
  });
  afterAll(async () => emulator?.close());

  const register = (t: TestApp, member: NewMember, address: string) =>
    request(t.url)
      .post('/v1/registrations')
      .set('x-forwarded-for', address)
      .send({ mydexid: member.mydexid, email: member.email, password: member.password });
  /** A member that exists at Mydex: registered and through the Private Key form. */
  const existing = async (t: TestApp, prefix: string, from: string) => {
    const member = newMember(prefix);
    const created = await register(t, member, from);
    expect(created.status).toBe(201);
    await finishAtMydex(created.body.privateKeyUrl as string, member);
    return member;
  };
  const address = () => `2001:db8:${randomBytes(2).toString('hex')}:${randomBytes(2).toString('hex')}::1`;
  const metric = async (t: TestApp, line: string) => {
    const text = (await request(t.url).get('/metrics')).text;
    return Number(new RegExp(`^${line.replace(/[{}"]/g, '\\$&')} (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  };

  it('refuses an address with 429 once it has had REGISTRATION_CONFLICT_LIMIT 409 answers, and only that address', async () => {
    const t = await startBffFor(emulator, engine, { ...LIMITED, REGISTRATION_CONFLICT_LIMIT: '3' });
    try {
      const prober = address();
      const taken = await existing(t, 'enumtaken', prober);
      for (let i = 0; i < 3; i++) {
        const probe = await register(t, { ...newMember('enumprobe'), mydexid: taken.mydexid }, prober);
        expect(probe.status).toBe(409);
        expect(probe.body.code).toBe('mydexid_taken');
      }
      const sent = await metric(t, 'bff_upstream_request_duration_seconds_count{endpoint="POST /api/pds",outcome="ok"}');
      expect(sent).toBeGreaterThan(0);
      const refused = await register(t, newMember('enumfree'), prober);
      expect(refused.status).toBe(429);
      expect(refused.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(refused.body.code).toBe('rate_limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(500);
      // Nothing reached Mydex for the refused one.
      expect(await metric(t, 'bff_upstream_request_duration_seconds_count{endpoint="POST /api/pds",outcome="ok"}')).toBe(sent);
      // Another address is not affected; the same address in the same /64 is.
      expect((await register(t, newMember('enumother'), address())).status).toBe(201);
      expect((await register(t, newMember('enumsame'), prober.replace(/::1$/, '::2'))).status).toBe(429);
      expect(await metric(t, 'bff_registration_conflicts_total{code="mydexid_taken"}')).toBe(3);
      expect(await metric(t, 'bff_registration_limited_total{budget="conflicts_per_ip"}')).toBe(2);
    } finally {
      await t.close();
    }
  });

  it('pauses registration for everyone once REGISTRATION_GLOBAL_LIMIT registrations reached Mydex, with a metric and one warning', async () => {
    const output = captureOutput();
    let t: TestApp | undefined;
    try {
      t = await startBffFor(emulator, engine, { ...LIMITED, REGISTRATION_GLOBAL_LIMIT: '3' }, { quiet: false });
      // Refusals that never reach Mydex do not spend the global budget.
      for (let i = 0; i < 4; i++) expect((await register(t, { ...newMember('glinvalid'), mydexid: '12345' }, address())).status).toBe(422);
      const taken = await existing(t, 'gltaken', address());
      expect((await register(t, { ...newMember('glprobe'), mydexid: taken.mydexid }, address())).status).toBe(409);
      expect((await register(t, newMember('glthird'), address())).status).toBe(201);
      for (let i = 0; i < 2; i++) {
        const paused = await register(t, newMember('glpaused'), address());
        expect(paused.status).toBe(429);
        expect(paused.body.code).toBe('rate_limited');
        expect(Number(paused.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect(await metric(t, 'bff_registration_global_limit_tripped_total')).toBe(1);
      expect(await metric(t, 'bff_registration_limited_total{budget="global"}')).toBe(2);
    } finally {
      await t?.close(); // flushes the log
      output.restore();
    }
    const warnings = output.lines.filter((line) => line.includes('registration global budget spent'));
    expect(warnings).toHaveLength(1);
    expect(JSON.parse(warnings[0]!)).toMatchObject({ level: 40, budget: 3 });
  });

  if (!REDIS_URL) process.stdout.write('Shared registration budget test skipped: TEST_REDIS_URL is not set (.ci/run sets it).\n');
  it.skipIf(!REDIS_URL)('shares the global registration budget and the conflict budget between instances through Redis', async () => {
    // A window length of its own keeps this run's global counter apart from other runs on the same Redis.
    const env = {
      ...LIMITED,
      REDIS_URL: REDIS_URL!,
      REGISTRATION_GLOBAL_LIMIT: '3',
      REGISTRATION_GLOBAL_WINDOW_SECONDS: String(3000 + Math.floor(Math.random() * 5000)),
      REGISTRATION_CONFLICT_LIMIT: '1',
    };
    const a = await startBffFor(emulator, engine, env);
    const b = await startBffFor(emulator, engine, env);
    try {
      const prober = address();
      const taken = await existing(a, 'rdtaken', address());
      expect((await register(b, { ...newMember('rdprobe'), mydexid: taken.mydexid }, prober)).status).toBe(409);
      // The conflict counted on B refuses the prober on A.
      expect((await register(a, newMember('rdfree'), prober)).status).toBe(429);
      expect((await register(a, newMember('rdthird'), address())).status).toBe(201);
      for (const instance of [a, b]) {
        const paused = await register(instance, newMember('rdpaused'), address());
        expect(paused.status).toBe(429);
        expect(paused.body.detail).toMatch(/everyone/);
      }
    } finally {
      await b.close();
      await a.close();
    }
  });
});
