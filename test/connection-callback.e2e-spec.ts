import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionsService } from '../src/connection/connections.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { openText } from '../src/common/crypto/sealed-text.js';
import { fieldsContext } from '../src/connection/connection.entity.js';
import {
  CALLBACK_AUTH,
  callbackForm,
  callbackJson,
  countRows,
  dumpAllTables,
  NID,
  openedEvents,
  TEST_DATA_KEY,
  TEST_RING,
} from './support/connection-callback.js';
import { ENGINES } from './support/database.js';

const CALLBACK = '/v1/connections/callback';

describe.each(ENGINES)('POST/PUT /v1/connections/callback on %s', (engine) => {
  let t: TestApp;
  let db: DataSource;
  let connections: ConnectionsService;

  beforeAll(async () => {
    t = await startTestApp({ DATA_ENCRYPTION_KEY: TEST_DATA_KEY, MYDEX_CONNECTION_VERSION: '3' }, engine);
    db = t.app.get(DataSource);
    connections = t.app.get(ConnectionsService);
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await db.query('DELETE FROM connection_events');
    await db.query('DELETE FROM connections');
  });

  const post = () => request(t.url).post(CALLBACK).set('authentication', CALLBACK_AUTH);
  const put = () => request(t.url).put(CALLBACK).set('authentication', CALLBACK_AUTH);

  const expectProblem = (res: request.Response, status: number, code: string) => {
    expect(res.status, res.text).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe(code);
  };
  const expectNothingWritten = async () => {
    expect(await countRows(db, 'connections')).toBe(0);
    expect(await countRows(db, 'connection_events')).toBe(0);
  };

  describe('authentication', () => {
    const cases: [string, (r: request.Test) => request.Test][] = [
      ['no Authentication header', (r) => r],
      ['a wrong hash of the right length', (r) => r.set('authentication', 'a'.repeat(128))],
      ['the right hash cut short', (r) => r.set('authentication', CALLBACK_AUTH.slice(0, 127))],
      ['the right hash with one character more', (r) => r.set('authentication', `${CALLBACK_AUTH}0`)],
      ['the SHA-256 of the token instead of SHA-512', (r) => r.set('authentication', CALLBACK_AUTH.slice(0, 64))],
      ['the token hash in Authorization instead of Authentication', (r) => r.set('authorization', CALLBACK_AUTH)],
      ['the token hash as a Bearer token', (r) => r.set('authorization', `Bearer ${CALLBACK_AUTH}`)],
      ['the raw connection token', (r) => r.set('authentication', 'local-emulator-connection-token-not-for-production')],
    ];
    for (const [name, withAuth] of cases) {
      it(`refuses ${name} with 401 callback_unauthenticated and writes nothing`, async () => {
        const res = await withAuth(request(t.url).post(CALLBACK)).type('form').send(callbackForm());
        expectProblem(res, 401, 'callback_unauthenticated');
        await expectNothingWritten();
      });
    }

    it('refuses an unauthenticated PUT and an unauthenticated malformed body alike with 401', async () => {
      expectProblem(await request(t.url).put(CALLBACK).type('form').send(callbackForm()), 401, 'callback_unauthenticated');
      expectProblem(await request(t.url).post(CALLBACK).type('form').send('x=%FF'), 401, 'callback_unauthenticated');
      await expectNothingWritten();
    });

    it('accepts the hash in upper-case hex', async () => {
      const res = await request(t.url).post(CALLBACK).set('authentication', CALLBACK_AUTH.toUpperCase()).type('form').send(callbackForm());
      expect(res.status).toBe(200);
    });
  });

  describe('storing a delivery', () => {
    it('stores a form-encoded First Time Connection: key encrypted, permissions raw and normalised', async () => {
      const res = await post()
        .type('form')
        .send(callbackForm({ uid: 587, mydexid: 'Alice2024', key: 'member-key-form-0001' }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ received: true });
      expect(res.headers['cache-control']).toBe('no-store');

      const [row] = (await db.query('SELECT * FROM connections')) as Record<string, unknown>[];
      expect(row).toMatchObject({
        connection_id: `587-${NID}`,
        uid: 587,
        mydexid: 'Alice2024',
        mydexid_lower: 'alice2024',
        version: 3,
        last_method: 'POST',
      });
      expect(JSON.stringify(row)).not.toContain('member-key-form-0001');
      expect(Buffer.from(String(row!.key_iv), 'base64')).toHaveLength(12);
      expect(Buffer.from(String(row!.key_tag), 'base64')).toHaveLength(16);
      expect(String(row!.permissions_raw)).toMatch(/^gcm1\./);
      expect(JSON.parse(openText(TEST_RING, String(row!.permissions_raw), fieldsContext(`587-${NID}`)))).toEqual({
        field_ds_personal_details: [[{ access: { r: { a: '1', s: 'A' } } }]],
        field_ds_contact_details: [[{ access: { r: { a: '1', s: 'A' }, w: { a: '0', s: 'R' } } }]],
      });
      expect(JSON.parse(String(row!.permissions))).toEqual({
        field_ds_personal_details: { read: true, write: false, readStyle: 'automatic', writeStyle: null },
        field_ds_contact_details: { read: true, write: false, readStyle: 'automatic', writeStyle: 'on_request' },
      });
      expect(await connections.memberKey(`587-${NID}`)).toBe('member-key-form-0001');

      const events = await openedEvents(db);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        kind: 'connection',
        method: 'POST',
        connection_id: `587-${NID}`,
        uid: 587,
        content_type: 'form',
        request_id: res.headers['x-request-id'],
        status: 'applied',
        anomalies: null,
      });
      expect(events[0]!.sealed).toMatch(/^gcm1\./);
      const payload = events[0]!.payload;
      expect(payload).not.toHaveProperty('key');
      expect(payload).toMatchObject({ uid: '587', mydexid: 'Alice2024', connection_id: `587-${NID}` });
    });

    it('stores a JSON delivery with a linking token', async () => {
      const res = await post().send({ ...callbackJson({ uid: 42, key: 'member-key-json-0002' }), linking_token: 'our-member-77' });
      expect(res.status).toBe(200);
      const [row] = (await db.query('SELECT uid, linking_token, version FROM connections')) as Record<string, unknown>[];
      expect(row).toEqual({ uid: 42, linking_token: 'our-member-77', version: 3 });
      expect(await connections.memberKey(`42-${NID}`)).toBe('member-key-json-0002');
      const [event] = (await db.query('SELECT content_type FROM connection_events')) as Record<string, unknown>[];
      expect(event!.content_type).toBe('json');
    });

    it('overwrites on a repeated POST and keeps the time of the first connection', async () => {
      await post()
        .type('form')
        .send(callbackForm({ key: 'member-key-first-0001', mydexid: 'alice2024' }));
      const [before] = (await db.query('SELECT created_at FROM connections')) as Record<string, unknown>[];
      await new Promise((resolve) => setTimeout(resolve, 20));
      const res = await post()
        .type('form')
        .send(callbackForm({ key: 'member-key-second-002', mydexid: 'ALICE2024' }));
      expect(res.status).toBe(200);
      const rows = (await db.query('SELECT * FROM connections')) as Record<string, unknown>[];
      expect(rows).toHaveLength(1);
      expect(rows[0]!.mydexid).toBe('ALICE2024');
      expect(ms(rows[0]!.created_at)).toBe(ms(before!.created_at));
      expect(ms(rows[0]!.updated_at)).toBeGreaterThan(ms(before!.created_at));
      expect(await connections.memberKey(`587-${NID}`)).toBe('member-key-second-002');
      expect(await countRows(db, 'connection_events')).toBe(2);
    });

    it('creates the connection on a PUT for an unknown connection_id, and a later PUT updates it', async () => {
      expect(
        (
          await put()
            .type('form')
            .send(callbackForm({ uid: 900, key: 'member-key-put-00001' }))
        ).status,
      ).toBe(200);
      expect((await put().send(callbackJson({ uid: 900, key: 'member-key-put-00002' }))).status).toBe(200);
      const rows = (await db.query('SELECT connection_id, last_method FROM connections')) as Record<string, unknown>[];
      expect(rows).toEqual([{ connection_id: `900-${NID}`, last_method: 'PUT' }]);
      expect(await connections.memberKey(`900-${NID}`)).toBe('member-key-put-00002');
    });

    it('records a JSON notification as an event and touches no connection', async () => {
      const notification = {
        type: 'notification',
        uid: 587,
        message: 'Dataset updated',
        dataset: 'field_ds_personal_details',
        connection_id: `587-${NID}`,
        action: 'update',
        updated_id: '12',
      };
      const res = await post().send(notification);
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ received: true });
      expect(await countRows(db, 'connections')).toBe(0);
      const events = await openedEvents(db);
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ kind: 'notification', method: 'POST', connection_id: `587-${NID}`, uid: 587, status: 'received' });
      expect(events[0]!.payload).toEqual(notification);
    });

    it('answers quickly: a delivery takes well under a second', async () => {
      const started = Date.now();
      expect((await post().type('form').send(callbackForm())).status).toBe(200);
      expect(Date.now() - started).toBeLessThan(1000);
    });
  });

  describe('format surprises from Mydex: applied, with anomalies', () => {
    // [applied as, anomaly, send]: Mydex's word, authenticated; our rules are not Mydex's (issue 14 §1).
    const surprises: [string, () => PromiseLike<request.Response>, { connectionId: string; uid: number; mydexid?: string }, string][] = [
      [
        'uid that is not a number',
        () => post().send({ ...callbackJson(), uid: 'abc' }),
        { connectionId: `587-${NID}`, uid: 587 },
        'uid_invalid',
      ],
      ['uid of zero', () => post().send({ ...callbackJson(), uid: 0 }), { connectionId: `587-${NID}`, uid: 587 }, 'uid_invalid'],
      [
        'negative uid',
        () =>
          post()
            .type('form')
            .send(callbackForm({ extra: '' }).replace('uid=587', 'uid=-587')),
        { connectionId: `587-${NID}`, uid: 587 },
        'uid_invalid',
      ],
      ['fractional uid', () => post().send({ ...callbackJson(), uid: 5.5 }), { connectionId: `587-${NID}`, uid: 587 }, 'uid_invalid'],
      [
        'uid beyond 32 bits',
        () => post().send({ ...callbackJson(), uid: 2 ** 31 }),
        { connectionId: `587-${NID}`, uid: 587 },
        'uid_invalid',
      ],
      [
        'a repeated uid in a form',
        () =>
          post()
            .type('form')
            .send(callbackForm({ extra: 'uid=587' })),
        { connectionId: `587-${NID}`, uid: 587 },
        'uid_invalid',
      ],
      [
        "no uid (Mydex's older example)",
        () => post().send({ ...callbackJson(), uid: undefined }),
        { connectionId: `587-${NID}`, uid: 587 },
        'uid_missing',
      ],
      [
        'a MydexID with punctuation',
        () => post().send({ ...callbackJson(), mydexid: 'alice.smith' }),
        { connectionId: `587-${NID}`, uid: 587, mydexid: 'alice.smith' },
        'mydexid_rules',
      ],
      [
        'a MydexID made only of digits',
        () => post().send({ ...callbackJson(), mydexid: '12345' }),
        { connectionId: `587-${NID}`, uid: 587, mydexid: '12345' },
        'mydexid_rules',
      ],
      [
        'a key with spaces',
        () => post().send({ ...callbackJson(), key: 'has spaces in it' }),
        { connectionId: `587-${NID}`, uid: 587 },
        'key_format',
      ],
      [
        'a key of almost 1 MB',
        () => post().send({ ...callbackJson(), key: 'k'.repeat(1_000_000) }),
        { connectionId: `587-${NID}`, uid: 587 },
        'key_format',
      ],
      [
        'a connection_id of another connection',
        () => post().send({ ...callbackJson({ uid: 587 }), connection_id: '587-99999' }),
        { connectionId: '587-99999', uid: 587 },
        'connection_id_nid_mismatch',
      ],
      [
        'a connection_id whose first part is not the uid',
        () => post().send({ ...callbackJson({ uid: 587 }), connection_id: `588-${NID}` }),
        { connectionId: `588-${NID}`, uid: 587 },
        'connection_id_uid_mismatch',
      ],
      [
        'a connection_id not shaped {uid}-{nid}',
        () => post().send({ ...callbackJson(), connection_id: 'abc' }),
        { connectionId: 'abc', uid: 587 },
        'connection_id_format',
      ],
      [
        'no connection_id',
        () => post().send({ ...callbackJson(), connection_id: undefined }),
        { connectionId: `587-${NID}`, uid: 587 },
        'connection_id_missing',
      ],
      [
        'fields that is a string',
        () => post().send({ ...callbackJson(), fields: 'all of them' }),
        { connectionId: `587-${NID}`, uid: 587 },
        'fields_invalid',
      ],
      [
        'fields that is a list',
        () => post().send({ ...callbackJson(), fields: [1, 2] }),
        { connectionId: `587-${NID}`, uid: 587 },
        'fields_invalid',
      ],
      [
        'fields with a value of 20 000 characters',
        () => post().send({ ...callbackJson(), fields: { ds: { value: 'v'.repeat(20_000) } } }),
        { connectionId: `587-${NID}`, uid: 587 },
        'fields_invalid',
      ],
      [
        'fields nested 11 levels deep',
        () => post().send({ ...callbackJson(), fields: nest(11) }),
        { connectionId: `587-${NID}`, uid: 587 },
        'fields_invalid',
      ],
      [
        'a linking token of 300 characters',
        () => post().send({ ...callbackJson(), linking_token: 'x'.repeat(300) }),
        { connectionId: `587-${NID}`, uid: 587 },
        'linking_token_invalid',
      ],
      [
        'a version of zero',
        () => post().send({ ...callbackJson(), version: 0 }),
        { connectionId: `587-${NID}`, uid: 587 },
        'version_invalid',
      ],
    ];
    for (const [name, send, stored, anomaly] of surprises) {
      it(`applies ${name} and notes ${anomaly}`, async () => {
        const res = await send();
        expect(res.status, res.text).toBe(200);
        const rows = (await db.query('SELECT connection_id, uid, mydexid FROM connections')) as Record<string, unknown>[];
        expect(rows).toEqual([{ connection_id: stored.connectionId, uid: stored.uid, mydexid: stored.mydexid ?? 'alice2024' }]);
        const [event] = await openedEvents(db);
        expect(event).toMatchObject({ status: 'applied', connection_id: stored.connectionId });
        expect(event!.anomalies!.split(',')).toContain(anomaly);
      });
    }

    it('quarantines, never refuses, a delivery without a usable MydexID: nothing to apply it to', async () => {
      for (const mydexid of [12345, 'a'.repeat(100_000), undefined]) {
        expect((await post().send({ ...callbackJson(), mydexid })).status).toBe(200);
      }
      expect(await countRows(db, 'connections')).toBe(0);
      const events = await openedEvents(db);
      expect(events.map((event) => `${event.status}:${event.reason}`)).toEqual(Array(3).fill('quarantined:unidentified'));
    });
  });

  describe('refused: no key, or not parseable, yet kept sealed for the operator', () => {
    const refusals: [string, () => PromiseLike<request.Response>, number, string, string][] = [
      ['a missing key', () => post().send({ ...callbackJson(), key: undefined }), 422, 'validation_failed', 'key_missing'],
      ['a key that is an object', () => post().send({ ...callbackJson(), key: { nested: 'x' } }), 422, 'validation_failed', 'key_missing'],
      [
        'a repeated key in a form',
        () =>
          post()
            .type('form')
            .send(callbackForm({ extra: 'key=another-member-key' })),
        422,
        'validation_failed',
        'key_missing',
      ],
      [
        'raw bytes that are not UTF-8 in a form',
        () =>
          sendRaw(
            `${t.url}${CALLBACK}`,
            'application/x-www-form-urlencoded',
            Buffer.concat([Buffer.from(callbackForm()), Buffer.from('&note='), Buffer.from([0xc3, 0x28])]),
          ),
        400,
        'malformed_form',
        'malformed_form',
      ],
      [
        'a percent-escape that is not UTF-8 in a form',
        () => post().type('form').send(`${callbackForm()}&note=%FF%FE`),
        400,
        'malformed_form',
        'malformed_form',
      ],
      [
        'a truncated percent-escape in a form',
        () => post().type('form').send(`${callbackForm()}&note=%E2%82`),
        400,
        'malformed_form',
        'malformed_form',
      ],
      [
        'form keys nested 12 levels deep',
        () =>
          post()
            .type('form')
            .send(`${callbackForm()}&fields${'[a]'.repeat(12)}=1`),
        400,
        'malformed_form',
        'malformed_form',
      ],
      [
        '6000 form parameters',
        () =>
          post()
            .type('form')
            .send(Array.from({ length: 6000 }, (_, i) => `p${i}=1`).join('&')),
        400,
        'malformed_form',
        'malformed_form',
      ],
      [
        'a form list of 500 items',
        () =>
          post()
            .type('form')
            .send(`${callbackForm()}&${Array.from({ length: 500 }, (_, i) => `fields[ds][${i}]=1`).join('&')}`),
        400,
        'malformed_form',
        'malformed_form',
      ],
      ['malformed JSON', () => post().type('json').send('{"uid":'), 400, 'malformed_json', 'malformed_json'],
      [
        'invalid UTF-8 in a JSON string',
        () =>
          sendRaw(
            `${t.url}${CALLBACK}`,
            'application/json',
            Buffer.concat([
              Buffer.from(`{"uid":587,"mydexid":"alice2024","connection_id":"587-${NID}","key":"ab`),
              Buffer.from([0xff, 0xfe]),
              Buffer.from('cdefgh"}'),
            ]),
          ),
        400,
        'invalid_unicode',
        'invalid_unicode',
      ],
      [
        'JSON nested 100 000 levels deep',
        () =>
          post()
            .type('json')
            .send(`{"uid":1,"fields":${'['.repeat(100_000)}${']'.repeat(100_000)}}`),
        413,
        'body_too_complex',
        'body_too_complex',
      ],
      ['a JSON list', () => post().type('json').send('[1,2,3]'), 400, 'body_not_object', 'body_not_object'],
      ['a JSON string', () => post().type('json').send('"hello"'), 400, 'body_not_object', 'body_not_object'],
    ];
    for (const [name, send, status, code, reason] of refusals) {
      it(`answers ${status} ${code} for ${name} and keeps the body sealed as refused (${reason})`, async () => {
        const res = await send();
        expectProblem(res, status, code);
        expect(await countRows(db, 'connections')).toBe(0);
        const events = await openedEvents(db);
        expect(events).toHaveLength(1);
        expect(events[0]).toMatchObject({ status: 'refused', reason, request_id: res.headers['x-request-id'] });
        expect(events[0]!.sealed).toMatch(/^gcm1\./);
        expect(events[0]!.payload.body ?? events[0]!.payload.raw).toBeTruthy();
      });
    }

    it('keeps the exact bytes of an unparseable body (as text when UTF-8, else base64)', async () => {
      await post().type('json').send('{"uid": 587, "key": "half-a-delivery');
      const bytes = Buffer.concat([Buffer.from('{"key":"k'), Buffer.from([0xff]), Buffer.from('"}')]);
      await sendRaw(`${t.url}${CALLBACK}`, 'application/json', bytes);
      const [text, binary] = await openedEvents(db);
      expect(text!.payload).toEqual({ raw: '{"uid": 587, "key": "half-a-delivery', encoding: 'utf8' });
      expect(binary!.payload).toEqual({ raw: bytes.toString('base64'), encoding: 'base64' });
    });

    it('reports the missing key as a field error, and keeps the rest of the body', async () => {
      const res = await post().send({ uid: 'x', mydexid: '', connection_id: 'nope', fields: 1 });
      expectProblem(res, 422, 'validation_failed');
      expect(res.body.errors).toEqual([{ field: 'key', code: 'required', message: expect.any(String), params: {} }]);
      const [event] = await openedEvents(db);
      expect(event!.payload).toEqual({ body: { uid: 'x', mydexid: '', connection_id: 'nope', fields: 1 } });
    });

    const nothingKept: [string, () => PromiseLike<request.Response>, number, string][] = [
      [
        'a body of 2 MB',
        () =>
          post()
            .type('form')
            .send(`${callbackForm()}&pad=${'x'.repeat(2 * 1024 * 1024)}`),
        413,
        'payload_too_large',
      ],
      ['text/plain', () => post().type('text').send('uid=587'), 415, 'unsupported_media_type'],
      // The caller is checked before its body is read (callback-form.ts), so this is 401, not 400.
      [
        'malformed JSON without the Authentication header',
        () => request(t.url).post(CALLBACK).type('json').send('{"uid":'),
        401,
        'callback_unauthenticated',
      ],
    ];
    for (const [name, send, status, code] of nothingKept) {
      it(`answers ${status} ${code} for ${name} and keeps nothing`, async () => {
        expectProblem(await send(), status, code);
        await expectNothingWritten();
      });
    }

    it('ignores prototype keys in a form instead of polluting objects', async () => {
      const res = await post().type('form').send(`${callbackForm()}&__proto__[polluted]=1&fields[constructor][prototype][x]=1`);
      expect(res.status).toBe(200);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });
  });

  it('keeps answering 415 to a form body on every other route', async () => {
    const res = await request(t.url)
      .post('/v1/validation/registration')
      .type('form')
      .send('mydexid=alice2024&email=a%40b.org&password=longenough');
    expectProblem(res, 415, 'unsupported_media_type');
  });

  describe('concurrency', () => {
    it('stores 100 identical concurrent callbacks as one row and 100 events', async () => {
      const body = callbackForm({ uid: 4242, key: 'member-key-concurrent-01' });
      const answers = await Promise.all(Array.from({ length: 100 }, () => post().type('form').send(body)));
      expect(answers.map((res) => res.status)).toEqual(Array(100).fill(200));
      expect(await countRows(db, 'connections')).toBe(1);
      expect(await countRows(db, 'connection_events')).toBe(100);
      expect(await connections.memberKey(`4242-${NID}`)).toBe('member-key-concurrent-01');
    });

    it('ends concurrent POSTs and PUTs for one connection as one consistent row', async () => {
      const keys = Array.from({ length: 40 }, (_, i) => `member-key-race-${String(i).padStart(4, '0')}`);
      const answers = await Promise.all(
        keys.map((key, i) => (i % 2 === 0 ? post() : put()).type('form').send(callbackForm({ uid: 777, key }))),
      );
      expect(answers.map((res) => res.status)).toEqual(Array(40).fill(200));
      const rows = (await db.query('SELECT last_method FROM connections')) as { last_method: string }[];
      expect(rows).toHaveLength(1);
      expect(['POST', 'PUT']).toContain(rows[0]!.last_method);
      // Whichever write won, its key decrypts: IV, tag and ciphertext come from the same delivery.
      expect(keys).toContain(await connections.memberKey(`777-${NID}`));
      expect(await countRows(db, 'connection_events')).toBe(40);
    });
  });

  it('keeps the member key out of every response and every table', async () => {
    const key = 'member-key-must-stay-secret-9f3a';
    const responses = [
      await post()
        .type('form')
        .send(callbackForm({ uid: 31, key })),
      await put().send(callbackJson({ uid: 31, key })),
      await post().send({ ...callbackJson({ uid: 31, key }), mydexid: '!!' }),
      await post().send({ ...callbackJson({ uid: 31, key }), connection_id: '32-1' }),
      await post().send({ ...callbackJson({ uid: 31, key }), fields: { ds: { value: key } } }),
      await post().send({ ...callbackJson({ uid: 31, key }), key: undefined, note: key }),
      await post().type('json').send(`{"key":"${key}"`),
    ];
    expect(responses.map((res) => res.status)).toEqual([200, 200, 200, 200, 200, 422, 400]);
    for (const res of responses) {
      expect(res.text).not.toContain(key);
      expect(JSON.stringify(res.headers)).not.toContain(key);
    }
    const dump = await dumpAllTables(db);
    expect(Object.keys(dump)).toEqual(expect.arrayContaining(['connections', 'connection_events']));
    for (const [table, text] of Object.entries(dump)) expect(text, table).not.toContain(key);
    expect(await connections.memberKey(`31-${NID}`)).toBe(key);
  });
});

/** A timestamp column as milliseconds: a Date (PostgreSQL) or TypeORM's UTC text (SQLite). */
function ms(value: unknown): number {
  return value instanceof Date ? value.getTime() : new Date(`${String(value).replace(' ', 'T')}Z`).getTime();
}

/** Sends raw bytes as they are (supertest would re-serialise a Buffer given with a form type). */
async function sendRaw(url: string, contentType: string, body: Buffer): Promise<request.Response> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': contentType, authentication: CALLBACK_AUTH }, body });
  const text = await response.text();
  return {
    status: response.status,
    text,
    body: JSON.parse(text),
    headers: Object.fromEntries(response.headers),
  } as unknown as request.Response;
}

function nest(levels: number): Record<string, unknown> {
  let node: Record<string, unknown> = { a: '1' };
  for (let i = 1; i < levels; i++) node = { n: node };
  return { ds: node };
}
