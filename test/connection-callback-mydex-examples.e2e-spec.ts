import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConnectionsService } from '../src/connection/connections.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { CALLBACK_AUTH, openedEvents, TEST_DATA_KEY } from './support/connection-callback.js';
import { ENGINES } from './support/database.js';

const CALLBACK = '/v1/connections/callback';

/*
 * Mydex's documented callback payloads, copied verbatim from the facts the project was given about
 * Mydex's pages (mydex-integration.md §7 and §9), each sent with a valid Authentication header. Every
 * one must be kept; none may be lost to our own format rules (issue 14 §1).
 */

/** §9: "The callback authentication page's example body is `connection_id=123-3736&uid=1`". Exactly that, no key. */
const AUTHENTICATION_PAGE_EXAMPLE = 'connection_id=123-3736&uid=1';

/**
 * The same example with the parameters §7 lists ("Fields: uid (int, e.g. 587), mydexid, key,
 * connection_id …, fields") and its fields keys verbatim
 * ("fields[field_ds_personal_details][0][][access][r][a]=1 and ...[r][s]=A").
 */
const AUTHENTICATION_PAGE_EXAMPLE_WITH_KEY =
  'connection_id=123-3736&uid=1&mydexid=alice.smith&key=member-key-from-the-example-01' +
  '&fields[field_ds_personal_details][0][][access][r][a]=1&fields[field_ds_personal_details][0][][access][r][s]=A';

/** §9: "an older version has `587-99` and no `uid` at all". */
const OLDER_EXAMPLE_WITHOUT_UID =
  'connection_id=587-99&mydexid=olderexample1&key=member-key-from-the-older-02' +
  '&fields[field_ds_personal_details][0][][access][r][a]=1&fields[field_ds_personal_details][0][][access][r][s]=A';

/** §7: "uid (int, e.g. 587) … connection_id ({uid}-{nid}, e.g. 587-4567)". */
const DOCUMENTED_PARAMETERS =
  'uid=587&mydexid=documented1&key=member-key-documented-03&connection_id=587-4567' +
  '&fields[field_ds_personal_details][0][][access][r][a]=1&fields[field_ds_personal_details][0][][access][r][s]=A';

/** §7/§9: `{ "type": "notification", uid, message, dataset, connection_id, action, updated_id }`, "the example sends `"uid": "4020"` as a string". */
const NOTIFICATION_EXAMPLE = `{
  "type": "notification",
  "uid": "4020",
  "message": "A dataset of member 4020 changed",
  "dataset": "ds_events",
  "connection_id": "4020-4567",
  "action": "create",
  "updated_id": "1"
}`;

describe.each(ENGINES)("Mydex's documented callback examples on %s", (engine) => {
  let t: TestApp;
  let db: DataSource;
  let connections: ConnectionsService;

  beforeAll(async () => {
    // Our Connection NID is the emulator's, not 3736 nor 4567 nor 99: every example is "for another connection".
    t = await startTestApp({ DATA_ENCRYPTION_KEY: TEST_DATA_KEY }, engine);
    db = t.app.get(DataSource);
    connections = t.app.get(ConnectionsService);
  });
  afterAll(async () => t?.close());
  beforeEach(async () => {
    await db.query('DELETE FROM connection_events');
    await db.query('DELETE FROM connections');
  });

  const post = () => request(t.url).post(CALLBACK).set('authentication', CALLBACK_AUTH);

  it('keeps the authentication page example exactly as printed (no key: refused 422, the body kept sealed)', async () => {
    const res = await post().type('form').send(AUTHENTICATION_PAGE_EXAMPLE);
    expect(res.status).toBe(422);
    expect(res.body.errors).toEqual([{ field: 'key', code: 'required', message: expect.any(String), params: {} }]);
    const [event] = await openedEvents(db);
    expect(event).toMatchObject({ status: 'refused', reason: 'key_missing' });
    expect(event!.payload).toEqual({ body: { connection_id: '123-3736', uid: '1' } });
  });

  it('applies the authentication page example with its key: connection_id 123-3736 for uid 1, a MydexID off our rules', async () => {
    const res = await post().type('form').send(AUTHENTICATION_PAGE_EXAMPLE_WITH_KEY);
    expect(res.status).toBe(200);
    const found = await connections.findByMydexid('alice.smith');
    expect(found).toMatchObject({ connectionId: '123-3736', uid: 1, mydexid: 'alice.smith' });
    expect(found!.permissions).toEqual({
      field_ds_personal_details: { read: true, write: false, readStyle: 'automatic', writeStyle: null },
    });
    expect(await connections.memberKey('123-3736')).toBe('member-key-from-the-example-01');
    const [event] = await openedEvents(db);
    expect(event!.status).toBe('applied');
    expect(event!.anomalies!.split(',')).toEqual(['connection_id_nid_mismatch', 'connection_id_uid_mismatch', 'mydexid_rules']);
  });

  it('applies the older example without uid: the uid from connection_id 587-99', async () => {
    expect((await post().type('form').send(OLDER_EXAMPLE_WITHOUT_UID)).status).toBe(200);
    expect(await connections.findByMydexid('olderexample1')).toMatchObject({ connectionId: '587-99', uid: 587 });
    expect(await connections.memberKey('587-99')).toBe('member-key-from-the-older-02');
    const [event] = await openedEvents(db);
    expect(event!.anomalies!.split(',')).toEqual(['connection_id_nid_mismatch', 'uid_missing']);
  });

  it('applies the documented parameters (587, 587-4567)', async () => {
    expect((await post().type('form').send(DOCUMENTED_PARAMETERS)).status).toBe(200);
    expect(await connections.findByMydexid('documented1')).toMatchObject({ connectionId: '587-4567', uid: 587 });
    const [event] = await openedEvents(db);
    expect(event).toMatchObject({ status: 'applied', anomalies: 'connection_id_nid_mismatch' });
  });

  it('keeps the notification example with its string uid', async () => {
    const res = await post().type('json').send(NOTIFICATION_EXAMPLE);
    expect(res.status).toBe(200);
    const [event] = await openedEvents(db);
    expect(event).toMatchObject({ kind: 'notification', status: 'received', uid: 4020, connection_id: '4020-4567' });
    expect(event!.payload).toEqual(JSON.parse(NOTIFICATION_EXAMPLE));
  });
});
