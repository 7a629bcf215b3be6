import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemException } from '../src/common/problem/problem.exception.js';
import { IdempotencyKey } from '../src/registration/idempotency/idempotency-key.entity.js';
import { canonicalJson, IdempotencyStore } from '../src/registration/idempotency/idempotency.store.js';
import { startTestApp, type TestApp } from './support/app.js';
import { ENGINES } from './support/database.js';

/** The Idempotency-Key store on a real database (both engines): the cases the HTTP suite cannot stage. */
describe.each(ENGINES)('IdempotencyStore (%s)', (engine) => {
  let t: TestApp;
  let store: IdempotencyStore;
  const rows = () => t.app.get(DataSource).getRepository(IdempotencyKey);
  const LEASE = 60_000;

  beforeAll(async () => {
    t = await startTestApp({}, engine);
    store = t.app.get(IdempotencyStore);
  });
  afterAll(async () => t?.close());

  it('runs the work once per key and replays its value to a repeat with the same request', async () => {
    let runs = 0;
    const work = async () => ({ n: ++runs });
    const key = crypto.randomUUID();
    expect(await store.run('test', key, { a: 1, b: 2 }, LEASE, work)).toEqual({ value: { n: 1 }, replayed: false });
    // Key order does not make a different request.
    expect(await store.run('test', key, { b: 2, a: 1 }, LEASE, work)).toEqual({ value: { n: 1 }, replayed: true });
    expect(runs).toBe(1);
  });

  it('refuses the same key with another request as idempotency_key_reused', async () => {
    const key = crypto.randomUUID();
    await store.run('test', key, { a: 1 }, LEASE, async () => 'first');
    await expect(store.run('test', key, { a: 2 }, LEASE, async () => 'second')).rejects.toMatchObject({ code: 'idempotency_key_reused' });
  });

  it('keeps the same key apart in different scopes', async () => {
    const key = crypto.randomUUID();
    await store.run('one', key, { a: 1 }, LEASE, async () => 'one');
    expect(await store.run('two', key, { a: 2 }, LEASE, async () => 'two')).toEqual({ value: 'two', replayed: false });
  });

  it('replays a 4xx problem with its code and field errors, and forgets a 5xx so a retry runs again', async () => {
    const key = crypto.randomUUID();
    const taken = new ProblemException('mydexid_taken', 'taken', { errors: [{ field: 'mydexid', code: 'mydexid_taken', message: 'm' }] });
    await expect(store.run('test', key, {}, LEASE, async () => Promise.reject(taken))).rejects.toBe(taken);
    const replayed = await store.run('test', key, {}, LEASE, async () => 'never').catch((error: unknown) => error);
    expect(replayed).toBeInstanceOf(ProblemException);
    expect(replayed).toMatchObject({
      code: 'mydexid_taken',
      options: { errors: taken.options.errors, headers: { 'idempotent-replayed': 'true' } },
    });

    const other = crypto.randomUUID();
    await expect(
      store.run('test', other, {}, LEASE, async () => Promise.reject(new ProblemException('upstream_unavailable', 'down'))),
    ).rejects.toMatchObject({ code: 'upstream_unavailable' });
    expect(await store.run('test', other, {}, LEASE, async () => 'ran again')).toEqual({ value: 'ran again', replayed: false });
  });

  it('answers idempotency_in_progress while the first runs, and lets a repeat take over once the lease ran out', async () => {
    const key = crypto.randomUUID();
    let release!: () => void;
    const first = store.run('test', key, {}, 150, () => new Promise<string>((resolve) => (release = () => resolve('first'))));
    await new Promise((resolve) => setTimeout(resolve, 30));
    await expect(store.run('test', key, {}, 150, async () => 'blocked')).rejects.toMatchObject({ code: 'idempotency_in_progress' });
    await new Promise((resolve) => setTimeout(resolve, 200));
    // The first attempt is as good as dead (its lease ran out): the repeat runs.
    expect(await store.run('test', key, {}, LEASE, async () => 'took over')).toEqual({ value: 'took over', replayed: false });
    release();
    await first;
  });

  it('treats a key older than 24 hours as new', async () => {
    const key = crypto.randomUUID();
    await store.run('test', key, {}, LEASE, async () => 'old');
    await rows().update(
      { keyHash: createHash('sha256').update(`test\u0000${key}`).digest('hex') },
      { expiresAt: new Date(Date.now() - 1000) },
    );
    expect(await store.run('test', key, {}, LEASE, async () => 'new')).toEqual({ value: 'new', replayed: false });
  });

  it('stores neither the key, nor the request, nor the answer in a readable form', async () => {
    const key = `key-${crypto.randomUUID()}`;
    const request = { password: 'Plain-Secret-123' };
    await store.run('test', key, request, LEASE, async () => ({ privateKeyUrl: 'https://mydex.example/pk/ANSWER-MARKER' }));
    const dump = JSON.stringify(await rows().find());
    expect(dump).not.toContain(key);
    expect(dump).not.toContain('Plain-Secret-123');
    expect(dump).not.toContain('ANSWER-MARKER');
    expect(dump).not.toContain(createHash('sha256').update(canonicalJson(request)).digest('hex'));
  });

  it('refuses a malformed Idempotency-Key header', () => {
    expect(IdempotencyStore.checkKey(undefined)).toBeUndefined();
    expect(IdempotencyStore.checkKey('a-uuid-like-key')).toBe('a-uuid-like-key');
    for (const bad of ['', 'has space', 'k'.repeat(256), 'ünï']) {
      expect(() => IdempotencyStore.checkKey(bad)).toThrow(ProblemException);
    }
  });
});
