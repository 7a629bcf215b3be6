import { createCipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { freePort } from '../emulator/testing/free-port.js';
import { newMember, type NewMember } from '../emulator/testing/journeys.js';
import { DataKeyRing, keyIdOf } from '../src/common/crypto/data-key-ring.js';
import { rotateConnectionKeys } from '../src/connection/connection-key-rotation.js';
import { Connection, ConnectionEvent } from '../src/connection/connection.entity.js';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { IdempotencyKey } from '../src/registration/idempotency/idempotency-key.entity.js';
import { canonicalJson, IdempotencyStore } from '../src/registration/idempotency/idempotency.store.js';
import { startTestApp, type TestApp } from './support/app.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';
import { cookieHeader, finishAtMydex, FRONTEND } from './support/own-form.js';

/**
 * Idempotency-Key answers survive a data-key rotation: a genuine retry of POST /v1/registrations after
 * the BFF restarted with a new DATA_ENCRYPTION_KEY (the old one in DATA_ENCRYPTION_KEYS_OLD) and
 * `npm run rotate-data-key` ran is replayed, not refused as idempotency_key_reused. The store seals
 * its answers with the shared data key ring (DataEncryption); rows in the format from before are read.
 */

const OLD_KEY = randomBytes(32);
const NEW_KEY = randomBytes(32);
const SCOPE = 'POST /v1/registrations';

const body = (member: NewMember, extra: Record<string, unknown> = {}) => ({
  mydexid: member.mydexid,
  email: member.email,
  password: member.password,
  ...extra,
});

describe.each(ENGINES)('Idempotency-Key replay across a data-key rotation (%s)', (engine) => {
  let emulator: RunningEmulator;
  let database: DatabaseTarget;
  let port: number;
  let bff: TestApp | undefined;

  const start = async (env: Record<string, string | undefined>) =>
    startTestApp(
      {
        MYDEX_ISSUER: emulator.issuer,
        MYDEX_PDX_URL: emulator.url,
        PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
        FRONTEND_ORIGINS: FRONTEND,
        DATA_ENCRYPTION_KEYS_OLD: undefined,
        ...env,
      },
      engine,
      { database, port },
    );

  const member = newMember('rotidem');
  const key = crypto.randomUUID();
  const refusedKey = crypto.randomUUID();
  let first: request.Response;
  let refused: request.Response;
  let clash: Record<string, unknown>;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    database = await freshDatabase(engine);
    port = await freePort();
    // Before the rotation: one answer (201) and one refusal (409 from Mydex) stored under OLD_KEY.
    const before = await start({ DATA_ENCRYPTION_KEY: OLD_KEY.toString('base64') });
    try {
      first = await request(before.url).post('/v1/registrations').set('idempotency-key', key).send(body(member));
      expect(first.status, JSON.stringify(first.body)).toBe(201);
      await finishAtMydex(first.body.privateKeyUrl as string, member);
      clash = { ...body(newMember('rotref')), mydexid: member.mydexid };
      refused = await request(before.url).post('/v1/registrations').set('idempotency-key', refusedKey).send(clash);
    } finally {
      await before.close();
    }
    // The procedure (docs/connections.md): restart with the new key current and the old one listed,
    // then `npm run rotate-data-key` under that ring.
    bff = await start({ DATA_ENCRYPTION_KEY: NEW_KEY.toString('base64'), DATA_ENCRYPTION_KEYS_OLD: OLD_KEY.toString('base64') });
    const rotation = new DataSource(dataSourceOptions(database.url, [Connection, ConnectionEvent]));
    await rotation.initialize();
    try {
      const report = await rotateConnectionKeys(rotation, new DataKeyRing(NEW_KEY, [OLD_KEY]), { log: () => undefined });
      expect(report.sealedRemaining).toBe(0);
    } finally {
      await rotation.destroy();
    }
  });
  afterAll(async () => {
    await bff?.close();
    await database?.drop();
    await emulator?.close();
  });

  it('replays the stored 201 to a retry with the same key and body, without calling Mydex', async () => {
    emulator.setFaults({ pdxStatus: 503 }); // any Mydex call now would answer 503
    try {
      const repeat = await request(bff!.url).post('/v1/registrations').set('idempotency-key', key).send(body(member));
      expect(repeat.status, JSON.stringify(repeat.body)).toBe(201);
      expect(repeat.body).toEqual(first.body);
      expect(repeat.headers['idempotent-replayed']).toBe('true');
      expect(cookieHeader(repeat)).toBe(cookieHeader(first));
    } finally {
      emulator.setFaults({});
    }
  });

  it('replays a stored 4xx problem as it was first answered, with the replay header', async () => {
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('mydexid_taken');
    emulator.setFaults({ pdxStatus: 503 });
    try {
      const repeat = await request(bff!.url).post('/v1/registrations').set('idempotency-key', refusedKey).send(clash);
      expect(repeat.status).toBe(409);
      expect({ ...repeat.body, requestId: undefined }).toEqual({ ...refused.body, requestId: undefined });
      expect(repeat.headers['idempotent-replayed']).toBe('true');
    } finally {
      emulator.setFaults({});
    }
  });

  it('still refuses the same key with another body as idempotency_key_reused', async () => {
    const other = await request(bff!.url)
      .post('/v1/registrations')
      .set('idempotency-key', key)
      .send(body(member, { password: `${member.password}-changed` }));
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('idempotency_key_reused');
  });

  it('stores new answers sealed under the current key id, unreadable without the Idempotency-Key', async () => {
    const store = bff!.app.get(IdempotencyStore);
    const fresh = crypto.randomUUID();
    await store.run('test', fresh, { password: 'Plain-Secret-456' }, 60_000, async () => ({ marker: 'ANSWER-MARKER-456' }));
    const row = await bff!.app
      .get(DataSource)
      .getRepository(IdempotencyKey)
      .findOneByOrFail({ keyHash: createHash('sha256').update(`test\u0000${fresh}`).digest('hex') });
    expect(row.response!.startsWith(`gcm1.${keyIdOf(NEW_KEY)}.`)).toBe(true);
    expect(JSON.stringify(row)).not.toContain('ANSWER-MARKER-456');
    expect(JSON.stringify(row)).not.toContain('Plain-Secret-456');
    // The ring alone (no Idempotency-Key) does not open it.
    const [, keyId, iv, tag, ciphertext] = row.response!.split('.');
    expect(() =>
      new DataKeyRing(NEW_KEY).open(
        { keyId: keyId!, iv: iv!, tag: tag!, ciphertext: ciphertext! },
        `idempotency_keys.response:${row.keyHash}`,
      ),
    ).toThrow();
  });

  it('replays a row stored in the format from before the shared ring (bare base64url under the old key)', async () => {
    const legacyKey = crypto.randomUUID();
    const requestBody = { a: 1, password: 'legacy-secret' };
    // The first format: HKDF(Idempotency-Key, salt DATA_ENCRYPTION_KEY), HMAC of the body, AES-GCM iv|tag|ciphertext.
    const derived = (info: string) => Buffer.from(hkdfSync('sha256', Buffer.from(legacyKey, 'utf8'), OLD_KEY, `${SCOPE} ${info}`, 32));
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', derived('response'), iv);
    const sealed = Buffer.concat([cipher.update(JSON.stringify({ kind: 'value', value: { legacy: true } }), 'utf8'), cipher.final()]);
    const now = Date.now();
    await bff!.app
      .get(DataSource)
      .getRepository(IdempotencyKey)
      .insert({
        keyHash: createHash('sha256').update(`${SCOPE}\u0000${legacyKey}`).digest('hex'),
        scope: SCOPE,
        requestHash: createHmac('sha256', derived('request')).update(canonicalJson(requestBody)).digest('hex'),
        state: 'completed',
        response: Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url'),
        lockedUntil: new Date(now),
        createdAt: new Date(now),
        expiresAt: new Date(now + 60_000),
      });
    const store = bff!.app.get(IdempotencyStore);
    expect(await store.run(SCOPE, legacyKey, requestBody, 60_000, async () => ({ ranAgain: true }))).toEqual({
      value: { legacy: true },
      replayed: true,
    });
    await expect(store.run(SCOPE, legacyKey, { ...requestBody, a: 2 }, 60_000, async () => 'other')).rejects.toMatchObject({
      code: 'idempotency_key_reused',
    });
  });
});
