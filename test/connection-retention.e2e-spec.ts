import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionEvent } from '../src/connection/connection.entity.js';
import { ConnectionRepository } from '../src/connection/connection.repository.js';
import { startTestApp, type TestApp } from './support/app.js';
import { CALLBACK_AUTH, callbackForm, TEST_DATA_KEY } from './support/connection-callback.js';
import { ENGINES } from './support/database.js';

const DAY = 24 * 3600 * 1000;

/**
 * The callbacks' audit trail (connection_events) is kept for CONNECTION_EVENTS_RETENTION_DAYS: the
 * first delivery an instance stores purges older events; 0 keeps them all.
 */
describe.each(ENGINES)('connection_events retention on %s', (engine) => {
  it('purges in batches until nothing older than the cutoff is left', async () => {
    const t = await startTestApp({ DATA_ENCRYPTION_KEY: TEST_DATA_KEY }, engine);
    try {
      const events = t.app.get(DataSource).getRepository(ConnectionEvent);
      const at = (days: number) => new Date(Date.now() - days * DAY);
      const row = (days: number, i: number) => ({
        kind: 'notification' as const,
        method: 'POST',
        connectionId: null,
        uid: null,
        contentType: 'form',
        requestId: `bulk-${days}-${i}`,
        payload: '{}',
        receivedAt: at(days),
      });
      for (let chunk = 0; chunk < 3; chunk++) await events.insert(Array.from({ length: 400 }, (_, i) => row(100, chunk * 400 + i)));
      await events.insert(Array.from({ length: 3 }, (_, i) => row(10, i)));
      expect(await t.app.get(ConnectionRepository).deleteEventsBefore(at(90))).toBe(1200);
      expect(await events.count()).toBe(3);
      expect(await t.app.get(ConnectionRepository).deleteEventsBefore(at(90))).toBe(0);
    } finally {
      await t.close();
    }
  });

  describe.each([
    { setting: undefined, keptDays: [1, 89], purgedDays: [91, 400] },
    { setting: '30', keptDays: [1, 29], purgedDays: [31, 89] },
    { setting: '0', keptDays: [1, 91, 4000], purgedDays: [] },
  ])('CONNECTION_EVENTS_RETENTION_DAYS=$setting', ({ setting, keptDays, purgedDays }) => {
    let t: TestApp;
    let db: DataSource;
    beforeAll(async () => {
      t = await startTestApp(
        { DATA_ENCRYPTION_KEY: TEST_DATA_KEY, ...(setting === undefined ? {} : { CONNECTION_EVENTS_RETENTION_DAYS: setting }) },
        engine,
      );
      db = t.app.get(DataSource);
    });
    afterAll(async () => t?.close());

    it('deletes events older than the retention after a delivery is stored, and keeps the rest', async () => {
      const now = Date.now();
      const events = db.getRepository(ConnectionEvent);
      for (const days of [...keptDays, ...purgedDays]) {
        await events.insert({
          kind: 'notification',
          method: 'POST',
          connectionId: null,
          uid: null,
          contentType: 'form',
          requestId: `aged-${days}`,
          payload: '{}',
          receivedAt: new Date(now - days * DAY),
        });
      }
      const res = await request(t.url)
        .post('/v1/connections/callback')
        .set('authentication', CALLBACK_AUTH)
        .type('form')
        .send(callbackForm({ uid: 9001 }));
      expect(res.status, res.text).toBe(200);
      const expected = [...keptDays.map((days) => `aged-${days}`), res.headers['x-request-id'] as string].sort();
      // The purge runs after the answer, not before it: wait for it (or give up after 5 s).
      let left: string[] = [];
      for (let i = 0; i < 100; i++) {
        left = (await events.find()).map((event) => event.requestId).sort();
        if (left.length <= expected.length) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(left).toEqual(expected);
    });
  });
});
