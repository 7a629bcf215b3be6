import { randomUUID } from 'node:crypto';
import { DataSource, LessThan } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { OidcTransaction } from '../src/auth/oidc/oidc-transaction.entity.js';
import { OidcTransactionStore, TRANSACTION_TTL_MS, type PendingTransaction } from '../src/auth/oidc/oidc-transaction.store.js';
import { deleteInBatches } from '../src/persistence/prepared-query.js';
import { newOpaqueToken, sha256Hex } from '../src/session/session-token.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';

describe.each(ENGINES)('the OIDC state store on %s', (engine) => {
  let target: DatabaseTarget;
  let db: DataSource;
  let store: OidcTransactionStore;
  beforeAll(async () => {
    target = await freshDatabase(engine);
    db = new DataSource(dataSourceOptions(target.url, [OidcTransaction]));
    await db.initialize();
    await db.runMigrations();
    store = new OidcTransactionStore(db.getRepository(OidcTransaction));
  });
  afterAll(async () => {
    await db?.destroy();
    await target?.drop();
  });

  const pending = (binding: string | null): PendingTransaction => ({
    id: randomUUID(),
    intent: 'login',
    client: binding ? 'web' : 'native',
    returnTo: binding ? 'https://app.example/' : null,
    appRedirectUri: binding ? null : 'com.example.app:/cb',
    codeVerifier: newOpaqueToken(),
    nonce: newOpaqueToken(),
    browserBindingHash: binding ? sha256Hex(binding) : null,
    exchangeSecretHash: binding ? null : sha256Hex('secret'),
  });

  it('stores only hashes of the state and nonce, and drops the PKCE verifier once consumed', async () => {
    const binding = newOpaqueToken();
    const input = pending(binding);
    const state = await store.insert(input);
    const row = await db.getRepository(OidcTransaction).findOneByOrFail({ id: input.id });
    expect(JSON.stringify(row)).not.toContain(state);
    expect(JSON.stringify(row)).not.toContain(input.nonce);
    expect(JSON.stringify(row)).not.toContain(binding);
    expect((await store.consume(state, binding)).ok).toBe(true);
    expect((await db.getRepository(OidcTransaction).findOneByOrFail({ id: input.id })).codeVerifier).toBeNull();
  });

  it('lets exactly one of many concurrent callbacks with the same state through', async () => {
    const binding = newOpaqueToken();
    const state = await store.insert(pending(binding));
    const results = await Promise.all(Array.from({ length: 8 }, () => store.consume(state, binding)));
    expect(results.filter((result) => result.ok)).toHaveLength(1);
    expect(results.filter((result) => !result.ok).map((result) => (result.ok ? '' : result.code))).toEqual(Array(7).fill('state_reused'));
  });

  it('keeps a web transaction for its own browser: a wrong or missing binding does not use it up', async () => {
    const binding = newOpaqueToken();
    const state = await store.insert(pending(binding));
    expect(await store.consume(state, undefined)).toMatchObject({ ok: false, code: 'browser_mismatch' });
    expect(await store.consume(state, newOpaqueToken())).toMatchObject({ ok: false, code: 'browser_mismatch' });
    expect((await store.consume(state, binding)).ok).toBe(true);
  });

  it('refuses unknown and malformed states', async () => {
    expect(await store.consume(newOpaqueToken(), undefined)).toMatchObject({ ok: false, code: 'state_invalid' });
    expect(await store.consume("' OR 1=1 --", undefined)).toMatchObject({ ok: false, code: 'state_invalid' });
    expect(await store.consume(undefined, undefined)).toMatchObject({ ok: false, code: 'state_invalid' });
  });

  it('lets one concurrent exchange of a native code through, and only with the right secret', async () => {
    const input = pending(null);
    const state = await store.insert(input);
    expect((await store.consume(state, undefined)).ok).toBe(true);
    const code = await store.attachExchange(input.id, {
      issuer: 'https://op.example/',
      sub: 'a'.repeat(64),
      mydexid: 'alice1',
      idToken: 'eyJ.x.y',
    });
    // The wrong secret: refused, and every later attempt too (the first attempt used the code up).
    const results = await Promise.all(Array.from({ length: 5 }, () => store.redeemExchange(code, 'W'.repeat(43))));
    expect(results.every((result) => result === undefined)).toBe(true);

    const second = pending(null);
    second.exchangeSecretHash = sha256Hex('S'.repeat(43));
    await store.consume(await store.insert(second), undefined);
    const code2 = await store.attachExchange(second.id, {
      issuer: 'https://op.example/',
      sub: 'b'.repeat(64),
      mydexid: null,
      idToken: 'eyJ.x.y',
    });
    const redeemed = await Promise.all(Array.from({ length: 5 }, () => store.redeemExchange(code2, 'S'.repeat(43))));
    expect(redeemed.filter((result) => result !== undefined)).toEqual([
      { issuer: 'https://op.example/', sub: 'b'.repeat(64), mydexid: null, idToken: 'eyJ.x.y', intent: 'login' },
    ]);
  });

  it('writes a new transaction (a prepared statement on the driver) as TypeORM reads it back: every column, dates to the millisecond, the rest NULL', async () => {
    const before = Date.now();
    const input = { ...pending(null), intent: 'register' as const };
    const state = await store.insert(input);
    const after = Date.now();
    const row = await db.getRepository(OidcTransaction).findOneByOrFail({ id: input.id });
    expect(row).toEqual({
      id: input.id,
      stateHash: sha256Hex(state),
      nonceHash: sha256Hex(input.nonce),
      codeVerifier: input.codeVerifier,
      intent: 'register',
      client: 'native',
      returnTo: null,
      appRedirectUri: 'com.example.app:/cb',
      browserBindingHash: null,
      exchangeSecretHash: sha256Hex('secret'),
      createdAt: expect.any(Date),
      expiresAt: expect.any(Date),
      consumedAt: null,
      exchangeCodeHash: null,
      exchangeExpiresAt: null,
      exchangedAt: null,
      memberIssuer: null,
      memberSub: null,
      memberMydexid: null,
      idToken: null,
    });
    expect(row.createdAt.getTime()).toBeGreaterThanOrEqual(before);
    expect(row.createdAt.getTime()).toBeLessThanOrEqual(after);
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBe(TRANSACTION_TTL_MS);
    // And the flow goes on from it: the state is consumed once.
    expect((await store.consume(state, undefined)).ok).toBe(true);
  });

  it('purges expired transactions in batches, every expired one and nothing else', async () => {
    const repository = db.getRepository(OidcTransaction);
    await repository.clear();
    const expired = Array.from({ length: 11 }, () => pending(null));
    for (const input of expired) await store.insert(input);
    await repository.update(
      expired.map((input) => input.id),
      { expiresAt: new Date(Date.now() - 2 * 3600 * 1000) },
    );
    const live = [pending(null), pending(newOpaqueToken())];
    for (const input of live) await store.insert(input);
    const cutoff = new Date(Date.now() - 3600 * 1000);
    // 11 rows in batches of 4: three statements (4, 4, 3).
    expect(await deleteInBatches(db, 'oidc_transactions', 'id', '"expires_at" < $1', [cutoff], 4)).toBe(11);
    expect(await repository.countBy({ expiresAt: LessThan(cutoff) })).toBe(0);
    expect((await repository.find()).map((row) => row.id).sort()).toEqual(live.map((input) => input.id).sort());
    expect(await deleteInBatches(db, 'oidc_transactions', 'id', '"expires_at" < $1', [cutoff], 4)).toBe(0);
  });
});
