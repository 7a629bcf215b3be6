import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { validateEnvironment } from '../src/config/environment.js';
import { ConnectionRepository } from '../src/connection/connection.repository.js';
import { runConnectionsCommand } from '../src/connection/connections-command.js';
import { ConnectionsService } from '../src/connection/connections.service.js';
import { SessionsService } from '../src/session/sessions.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import {
  CALLBACK_AUTH,
  callbackForm,
  callbackJson,
  countRows,
  NID,
  openedEvents,
  TEST_DATA_KEY,
  TEST_RING,
} from './support/connection-callback.js';
import { ENGINES } from './support/database.js';

const CALLBACK = '/v1/connections/callback';

/**
 * Forged and replayed callbacks (issue 13 item 4): the Authentication header is static, so whoever
 * has seen it can post anything. What the BFF can still refuse to apply: a delivery that would move
 * a known MydexID to another uid (or a uid to another MydexID), and one that repeats a delivery the
 * connection has since moved past. Those are stored, quarantined, and the operator decides.
 */
describe.each(ENGINES)('forged and replayed callbacks on %s', (engine) => {
  let t: TestApp;
  let db: DataSource;
  let connections: ConnectionsService;
  let repository: ConnectionRepository;

  beforeAll(async () => {
    t = await startTestApp({ DATA_ENCRYPTION_KEY: TEST_DATA_KEY, MYDEX_CONNECTION_VERSION: '3' }, engine);
    db = t.app.get(DataSource);
    connections = t.app.get(ConnectionsService);
    repository = new ConnectionRepository(db, TEST_RING);
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await db.query('DELETE FROM connection_events');
    await db.query('DELETE FROM connections');
  });

  const post = () => request(t.url).post(CALLBACK).set('authentication', CALLBACK_AUTH);
  const put = () => request(t.url).put(CALLBACK).set('authentication', CALLBACK_AUTH);
  const statuses = async () => (await openedEvents(db)).map((event) => (event.reason ? `${event.status}:${event.reason}` : event.status));
  const liveRows = async () =>
    (await db.query(
      'SELECT connection_id, uid, mydexid_lower FROM connections WHERE superseded_at IS NULL ORDER BY connection_id',
    )) as Record<string, unknown>[];

  it('quarantines a second uid for a known MydexID: the member keeps one connection, with its own key', async () => {
    expect(
      (
        await post()
          .type('form')
          .send(callbackForm({ uid: 587, mydexid: 'alice2024', key: 'the-real-member-key-01' }))
      ).status,
    ).toBe(200);
    const forged = await post()
      .type('form')
      .send(callbackForm({ uid: 999, mydexid: 'Alice2024', key: 'attacker-chosen-key-01' }));
    expect(forged.status).toBe(200);
    expect(forged.body).toEqual({ received: true });

    expect(await liveRows()).toEqual([{ connection_id: `587-${NID}`, uid: 587, mydexid_lower: 'alice2024' }]);
    expect(await countRows(db, 'connections')).toBe(1);
    expect((await connections.findByMydexid('alice2024'))?.uid).toBe(587);
    expect(await connections.memberKey(`587-${NID}`)).toBe('the-real-member-key-01');
    expect(await statuses()).toEqual(['applied', 'quarantined:uid_changed']);
    // The quarantined delivery keeps its key (sealed) so the operator can still apply it.
    const [, quarantined] = await openedEvents(db);
    expect(quarantined!.payload.key).toBe('attacker-chosen-key-01');
    expect(quarantined!.sealed).not.toContain('attacker-chosen-key-01');
  });

  it('quarantines a known uid arriving with another MydexID, and a known connection_id with another uid', async () => {
    await post().send(callbackJson({ uid: 587, mydexid: 'alice2024' }));
    expect((await post().send(callbackJson({ uid: 587, mydexid: 'mallory1', connectionId: `587-${NID}` }))).status).toBe(200);
    expect((await post().send(callbackJson({ uid: 588, mydexid: 'mallory2', connectionId: `587-${NID}` }))).status).toBe(200);
    expect(await statuses()).toEqual(['applied', 'quarantined:mydexid_changed', 'quarantined:uid_changed']);
    expect(await liveRows()).toEqual([{ connection_id: `587-${NID}`, uid: 587, mydexid_lower: 'alice2024' }]);
    expect(await connections.findByMydexid('mallory1')).toBeNull();
  });

  it('treats an exact repeat of the latest delivery as a retry: stored as duplicate, nothing changed, no alarm', async () => {
    const body = callbackForm({ key: 'member-key-retry-0001' });
    await post().type('form').send(body);
    const [before] = (await db.query('SELECT updated_at, key_ciphertext FROM connections')) as Record<string, unknown>[];
    for (let i = 0; i < 3; i++) expect((await post().type('form').send(body)).status).toBe(200);
    // Reordered parameters are the same delivery.
    expect((await post().type('form').send(body.split('&').reverse().join('&'))).status).toBe(200);
    const [after] = (await db.query('SELECT updated_at, key_ciphertext FROM connections')) as Record<string, unknown>[];
    expect(after).toEqual(before);
    expect(await statuses()).toEqual(['applied', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
  });

  it('quarantines a replay of a superseded delivery instead of rolling the member back', async () => {
    const first = callbackForm({ key: 'member-key-version-a1' });
    const update = callbackForm({ key: 'member-key-version-b2', extra: 'fields[field_ds_home][0][][access][r][a]=1' });
    await post().type('form').send(first);
    await put().type('form').send(update);
    // The replay (as POST, as PUT, as JSON-equivalent reordering) never rolls the permissions back.
    expect((await post().type('form').send(first)).status).toBe(200);
    expect((await put().type('form').send(first.split('&').reverse().join('&'))).status).toBe(200);
    expect(await connections.memberKey(`587-${NID}`)).toBe('member-key-version-b2');
    expect(Object.keys((await connections.findByMydexid('alice2024'))!.permissions)).toContain('field_ds_home');
    expect(await statuses()).toEqual(['applied', 'applied', 'quarantined:replayed', 'quarantined:replayed']);
  });

  it('quarantines a delivery naming an older agreement version than the connection has; a newer one applies', async () => {
    await put().send({ ...callbackJson({ key: 'member-key-version-5' }), version: 5 });
    await put().send({ ...callbackJson({ key: 'member-key-version-4' }), version: 4 });
    await put().send({ ...callbackJson({ key: 'member-key-version-6' }), version: 6 });
    expect(await statuses()).toEqual(['applied', 'quarantined:older_version', 'applied']);
    expect((await connections.findByMydexid('alice2024'))!.version).toBe(6);
  });

  it('moves the member to a new connection_id for the same uid and MydexID: one live connection, the old one superseded', async () => {
    await post().send(callbackJson({ uid: 587, connectionId: `587-${NID}`, key: 'member-key-old-id-01' }));
    await post().send(callbackJson({ uid: 587, connectionId: '587-99', key: 'member-key-new-id-02' }));
    expect(await liveRows()).toEqual([{ connection_id: '587-99', uid: 587, mydexid_lower: 'alice2024' }]);
    expect(await countRows(db, 'connections')).toBe(2);
    expect((await connections.findByMydexid('ALICE2024'))?.connectionId).toBe('587-99');
    expect(await connections.isConnected('alice2024')).toBe(true);
  });

  it('keeps one live connection when a forged delivery races the real first one', async () => {
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        post()
          .type('form')
          .send(callbackForm({ uid: 700 + i, mydexid: 'racer2024', key: `member-key-race-${String(i).padStart(4, '0')}` })),
      ),
    );
    expect(answers.map((res) => res.status)).toEqual(Array(12).fill(200));
    expect(await liveRows()).toHaveLength(1);
    const counts = (await statuses()).reduce<Record<string, number>>((acc, status) => ({ ...acc, [status]: (acc[status] ?? 0) + 1 }), {});
    expect(counts).toEqual({ applied: 1, 'quarantined:uid_changed': 11 });
  });

  it('counts quarantines and anomalies in the metrics', async () => {
    await post()
      .type('form')
      .send(callbackForm({ uid: 587, mydexid: 'metric2024' }));
    await post()
      .type('form')
      .send(callbackForm({ uid: 588, mydexid: 'metric2024' }));
    await post().send({ ...callbackJson({ uid: 589, mydexid: 'alice.smith' }), connection_id: '123-3736' });
    const metrics = (await request(t.url).get('/metrics')).text;
    expect(metrics).toMatch(/bff_connection_deliveries_total\{status="quarantined",reason="uid_changed"\} [1-9]/);
    expect(metrics).toMatch(/bff_connection_delivery_anomalies_total\{anomaly="mydexid_rules"\} [1-9]/);
    expect(metrics).toMatch(/bff_connection_delivery_anomalies_total\{anomaly="connection_id_uid_mismatch"\} [1-9]/);
  });

  describe('the operator command (npm run connections -- quarantine)', () => {
    const run = async (...args: string[]) => {
      const lines: string[] = [];
      const code = await runConnectionsCommand(args, repository, { configuredVersion: 3, connectionNid: NID }, (line) => lines.push(line));
      return { code, text: lines.join('\n') };
    };

    it('lists quarantined deliveries without the key, then applies one: the member moves to its uid, one live connection', async () => {
      await post()
        .type('form')
        .send(callbackForm({ uid: 587, mydexid: 'alice2024', key: 'member-key-original-1' }));
      await post()
        .type('form')
        .send(callbackForm({ uid: 600, mydexid: 'alice2024', key: 'member-key-reissued-2' }));
      const [, event] = await openedEvents(db);

      const listed = await run('quarantine');
      expect(listed.code).toBe(0);
      expect(listed.text).toContain(`#${event!.id} `);
      expect(listed.text).toContain('reason=uid_changed');
      expect(listed.text).toContain('mydexid=alice2024');
      expect(listed.text).not.toContain('member-key-reissued-2');

      expect(await run('quarantine', 'apply', String(event!.id))).toEqual({ code: 0, text: expect.stringContaining(`600-${NID}`) });
      expect(await liveRows()).toEqual([{ connection_id: `600-${NID}`, uid: 600, mydexid_lower: 'alice2024' }]);
      expect(await connections.memberKey(`600-${NID}`)).toBe('member-key-reissued-2');
      expect((await connections.findByMydexid('alice2024'))?.uid).toBe(600);
      const applied = (await openedEvents(db))[1]!;
      expect(applied.status).toBe('applied');
      expect(applied.payload).not.toHaveProperty('key');
      expect((await run('quarantine')).text).toBe('No quarantined deliveries.');
      // Applying twice is refused.
      expect((await run('quarantine', 'apply', String(event!.id))).code).toBe(1);
    });

    it('drops one: nothing applied, kept as dropped without its key', async () => {
      await post()
        .type('form')
        .send(callbackForm({ uid: 587, mydexid: 'alice2024', key: 'member-key-original-1' }));
      await post()
        .type('form')
        .send(callbackForm({ uid: 601, mydexid: 'alice2024', key: 'member-key-forged-0003' }));
      const [, event] = await openedEvents(db);
      expect((await run('quarantine', 'drop', String(event!.id))).code).toBe(0);
      expect(await liveRows()).toEqual([{ connection_id: `587-${NID}`, uid: 587, mydexid_lower: 'alice2024' }]);
      const dropped = (await openedEvents(db))[1]!;
      expect(dropped.status).toBe('dropped');
      expect(dropped.payload).not.toHaveProperty('key');
    });

    it('refuses unknown ids and bad arguments with a non-zero status', async () => {
      expect((await run('quarantine', 'apply', '999999')).code).toBe(1);
      expect((await run('quarantine', 'frobnicate', '1')).code).toBe(64);
      expect((await run('nothing')).code).toBe(64);
    });
  });

  it('shows the latest notifications to the member in GET /v1/connections/me, uid given as a string', async () => {
    await post()
      .type('form')
      .send(callbackForm({ uid: 4020, mydexid: 'notified1' }));
    for (let i = 1; i <= 7; i++) {
      await post().send({
        type: 'notification',
        uid: '4020',
        message: `Data for member 4020 has changed (${i})`,
        dataset: 'ds_events',
        connection_id: `4020-${NID}`,
        action: 'create',
        updated_id: String(i),
      });
    }
    // Another member's notification is not shown.
    await post().send({
      type: 'notification',
      uid: '4021',
      message: 'not yours',
      dataset: 'ds_events',
      connection_id: `4021-${NID}`,
      action: 'create',
      updated_id: '1',
    });
    const { token } = await t.app
      .get(SessionsService)
      .create({ client: 'native', issuer: 'https://op.example/', sub: 'a'.repeat(64), mydexid: 'notified1', idToken: null });
    const me = await request(t.url).get('/v1/connections/me').set('authorization', `Bearer ${token}`);
    expect(me.status, me.text).toBe(200);
    expect(me.body.connected).toBe(true);
    expect(me.body.notifications).toHaveLength(5);
    expect(me.body.notifications[0]).toEqual({
      message: 'Data for member 4020 has changed (7)',
      dataset: 'ds_events',
      action: 'create',
      updatedId: '7',
      connectionId: `4020-${NID}`,
      uid: '4020',
      receivedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    expect(me.text).not.toContain('not yours');
  });
});

describe.each(ENGINES)('CALLBACK_ALLOWED_IPS on %s', (engine) => {
  let t: TestApp;
  let db: DataSource;

  beforeAll(async () => {
    t = await startTestApp(
      {
        DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
        TRUSTED_PROXIES: '127.0.0.1,::1',
        CALLBACK_ALLOWED_IPS: '203.0.113.0/24, 2001:db8::/32,198.51.100.7',
      },
      engine,
    );
    db = t.app.get(DataSource);
  });
  afterAll(async () => t?.close());

  const from = (address: string | undefined) => {
    const r = request(t.url).post(CALLBACK).set('authentication', CALLBACK_AUTH).type('form');
    return address === undefined ? r : r.set('x-forwarded-for', address);
  };

  it.each(['203.0.113.7', '2001:db8::5', '198.51.100.7'])('accepts a callback from %s (proxy-resolved client address)', async (address) => {
    expect((await from(address).send(callbackForm({ uid: 10 }))).status).toBe(200);
  });

  it.each([['198.51.100.8'], ['203.0.114.1'], ['2001:db9::1'], [undefined]])(
    'refuses a callback from %s with 403 callback_source_not_allowed and stores nothing',
    async (address) => {
      await db.query('DELETE FROM connection_events');
      await db.query('DELETE FROM connections');
      const res = await from(address).send(callbackForm({ uid: 11 }));
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('callback_source_not_allowed');
      // Even a malformed JSON body from outside the list is not kept.
      await request(t.url)
        .post(CALLBACK)
        .set('authentication', CALLBACK_AUTH)
        .set('x-forwarded-for', address ?? '192.0.2.1')
        .type('json')
        .send('{"key":');
      expect(await countRows(db, 'connections')).toBe(0);
      expect(await countRows(db, 'connection_events')).toBe(0);
    },
  );

  it('refuses to start with an entry that is not an address or CIDR range', () => {
    expect(() => validateEnvironment({ ...process.env, CALLBACK_ALLOWED_IPS: '203.0.113.0/24,not-an-ip' })).toThrow(/CALLBACK_ALLOWED_IPS/);
    expect(() => validateEnvironment({ ...process.env, CALLBACK_ALLOWED_IPS: '203.0.113.0/33' })).toThrow(/CALLBACK_ALLOWED_IPS/);
  });
});
