import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataKeyRing, keyIdOf } from '../src/common/crypto/data-key-ring.js';
import { rotateConnectionKeys } from '../src/connection/connection-key-rotation.js';
import { Connection, ConnectionEvent } from '../src/connection/connection.entity.js';
import { ConnectionsService } from '../src/connection/connections.service.js';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { startTestApp, type TestApp } from './support/app.js';
import { allRows, CALLBACK_AUTH, callbackForm, NID } from './support/connection-callback.js';
import { openText } from '../src/common/crypto/sealed-text.js';
import { eventContext, fieldsContext } from '../src/connection/connection.entity.js';
import { registrationEmailContext } from '../src/registration/registration.entity.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';

const OLD_KEY = randomBytes(32);
const NEW_KEY = randomBytes(32);
const ROWS = 120;
const LEGACY_VALUE = 'legacy-field-value-7731';
const LEGACY_EMAIL = 'legacy-member-7731@example.org';

const memberKey = (uid: number, generation: string) => `member-key-${generation}-${String(uid).padStart(6, '0')}`;

async function deliver(t: TestApp, uid: number, key: string): Promise<number> {
  const res = await request(t.url)
    .post('/v1/connections/callback')
    .set('authentication', CALLBACK_AUTH)
    .type('form')
    .send(callbackForm({ uid, key, mydexid: `member${uid}` }));
  return res.status;
}

describe.each(ENGINES)('rotating the data encryption key on %s', (engine) => {
  let database: DatabaseTarget;
  let bff: TestApp | undefined;
  let rotationDb: DataSource;
  const expected = new Map<number, string>();

  beforeAll(async () => {
    database = await freshDatabase(engine);
    // Before: every key stored under OLD_KEY.
    const before = await startTestApp({ DATA_ENCRYPTION_KEY: OLD_KEY.toString('base64') }, engine, { database });
    for (let uid = 1; uid <= ROWS; uid += 20) {
      const uids = Array.from({ length: 20 }, (_, i) => uid + i);
      const statuses = await Promise.all(uids.map((u) => deliver(before, u, memberKey(u, 'old'))));
      expect(statuses.every((status) => status === 200)).toBe(true);
      uids.forEach((u) => expected.set(u, memberKey(u, 'old')));
    }
    await before.close();
    rotationDb = new DataSource(dataSourceOptions(database.url, [Connection, ConnectionEvent]));
    await rotationDb.initialize();
  });
  afterAll(async () => {
    await bff?.close();
    await rotationDb?.destroy();
    await database?.drop();
  });

  it('serves keys under the old key once the new one is current', async () => {
    bff = await startTestApp(
      { DATA_ENCRYPTION_KEY: NEW_KEY.toString('base64'), DATA_ENCRYPTION_KEYS_OLD: OLD_KEY.toString('base64') },
      engine,
      { database },
    );
    const connections = bff.app.get(ConnectionsService);
    expect(await connections.memberKey(`7-${NID}`)).toBe(memberKey(7, 'old'));
    const [row] = (await rotationDb.query(`SELECT COUNT(*) AS n FROM connections WHERE key_id = '${keyIdOf(OLD_KEY)}'`)) as {
      n: number | string;
    }[];
    expect(Number(row!.n)).toBe(ROWS);
  });

  it('has plaintext rows from before sealing to seal: a legacy event payload and a registration email', async () => {
    const now = new Date();
    const postgres = rotationDb.options.type === 'postgres';
    const at = postgres ? now : now.toISOString().replace('T', ' ').replace('Z', '');
    const p = (n: number) => (postgres ? `$${n}` : '?');
    await rotationDb.query(
      `INSERT INTO connection_events (kind, method, connection_id, uid, content_type, request_id, payload, received_at, status) VALUES ('connection', 'POST', '1-${NID}', 1, 'form', 'legacy-request-1', ${p(1)}, ${p(2)}, 'applied')`,
      [JSON.stringify({ uid: '1', fields: { ds: { value: LEGACY_VALUE } } }), at],
    );
    await rotationDb.query(
      `INSERT INTO registrations (id, strategy, status, mydexid, email, created_at, updated_at) VALUES ('00000000-0000-4000-8000-00000000e001', 'own_form', 'completed', 'legacy1', ${p(1)}, ${p(2)}, ${p(3)})`,
      [LEGACY_EMAIL, at, at],
    );
    const dump = JSON.stringify(await allRows(rotationDb));
    expect(dump).toContain(LEGACY_VALUE);
    expect(dump).toContain(LEGACY_EMAIL);
  });

  it('re-encrypts every row under the new key id in batches while callbacks keep arriving', async () => {
    const ring = new DataKeyRing(NEW_KEY, [OLD_KEY]);
    const lines: string[] = [];
    // Deliveries during the rotation: re-deliveries of existing connections and new ones.
    const traffic = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) {
        const uid = i % 2 === 0 ? 1 + ((i * 7) % ROWS) : 1000 + i;
        const key = memberKey(uid, `during${i}`);
        statuses.push(await deliver(bff!, uid, key));
        expected.set(uid, key);
      }
      return statuses;
    })();
    const report = await rotateConnectionKeys(rotationDb, ring, { batchSize: 7, log: (line) => lines.push(line) });
    expect((await traffic).every((status) => status === 200)).toBe(true);

    expect(report.before[keyIdOf(OLD_KEY)]).toBe(ROWS);
    expect(report.rotated).toBeGreaterThan(0);
    expect(report.rotated).toBeLessThanOrEqual(ROWS);
    expect(report.remaining).toBe(0);
    expect(report.unknownKeyIds).toEqual([]);
    expect(lines.filter((line) => line.startsWith('pass 1:')).length).toBeGreaterThanOrEqual(Math.ceil((ROWS - 30) / 7));

    const keyIds = (await rotationDb.query('SELECT DISTINCT key_id FROM connections')) as { key_id: string }[];
    expect(keyIds).toEqual([{ key_id: keyIdOf(NEW_KEY) }]);
    // Every key decrypts, with the latest delivery's value, and without the old key any more.
    const onlyNew = new DataKeyRing(NEW_KEY);
    const rows = await rotationDb.getRepository(Connection).find();
    expect(rows).toHaveLength(expected.size);
    for (const row of rows) {
      const plain = onlyNew.open(
        { keyId: row.keyId, iv: row.keyIv, tag: row.keyTag, ciphertext: row.keyCiphertext },
        `connections.key:${row.connectionId}`,
      );
      expect(plain).toBe(expected.get(row.uid));
      // `fields` too: sealed under the new key only.
      expect(row.permissionsRaw.startsWith(`gcm1.${keyIdOf(NEW_KEY)}.`)).toBe(true);
      expect(JSON.parse(openText(onlyNew, row.permissionsRaw, fieldsContext(row.connectionId)))).toHaveProperty(
        'field_ds_personal_details',
      );
    }
    // Every callback body and the registration email: under the new key, the plaintext ones sealed.
    expect(report.sealedRemaining).toBe(0);
    const events = (await rotationDb.query('SELECT request_id, payload FROM connection_events')) as {
      request_id: string;
      payload: string;
    }[];
    for (const event of events) {
      expect(event.payload.startsWith(`gcm1.${keyIdOf(NEW_KEY)}.`)).toBe(true);
      expect(() => openText(onlyNew, event.payload, eventContext(event.request_id))).not.toThrow();
    }
    const [registration] = (await rotationDb.query("SELECT id, email, email_sealed FROM registrations WHERE mydexid = 'legacy1'")) as {
      id: string;
      email: string | null;
      email_sealed: string;
    }[];
    expect(registration!.email).toBeNull();
    expect(openText(onlyNew, registration!.email_sealed, registrationEmailContext(registration!.id))).toBe(LEGACY_EMAIL);
    const dump = JSON.stringify(await allRows(rotationDb));
    expect(dump).not.toContain(LEGACY_VALUE);
    expect(dump).not.toContain(LEGACY_EMAIL);
  });

  it('has nothing left to do on a second run', async () => {
    const report = await rotateConnectionKeys(rotationDb, new DataKeyRing(NEW_KEY, [OLD_KEY]));
    expect(report).toMatchObject({ rotated: 0, remaining: 0, sealedRemaining: 0 });
    expect(Object.values(report.sealed).every((column) => column.rotated === 0)).toBe(true);
  });

  it('reports rows under a key it was not given, and leaves them as they are', async () => {
    const third = randomBytes(32);
    const report = await rotateConnectionKeys(rotationDb, new DataKeyRing(third, [OLD_KEY]), { dryRun: false });
    expect(report.unknownKeyIds).toEqual([keyIdOf(NEW_KEY)]);
    expect(report.rotated).toBe(0);
    expect(report.remaining).toBe(expected.size);
    expect(await bff!.app.get(ConnectionsService).memberKey(`7-${NID}`)).toBe(expected.get(7));
  });
});
