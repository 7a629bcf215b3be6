import { getDataSourceToken } from '@nestjs/typeorm';
import type { Pool } from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { LessThan } from 'typeorm';
import { MemberSession } from '../src/session/member-session.entity.js';
import { DELETE_BATCH } from '../src/persistence/prepared-query.js';
import { SessionsService } from '../src/session/sessions.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { CALLBACK_AUTH, callbackForm, TEST_DATA_KEY } from './support/connection-callback.js';
import { ENGINES } from './support/database.js';

/**
 * GET /v1/session reads the session and the member's `connected` in one statement (issue 17): one
 * round trip on PostgreSQL. The answer must stay what the two separate lookups gave.
 */
describe.each(ENGINES)('session lookup with the connection status on %s', (engine) => {
  let bff: TestApp;
  let sessions: SessionsService;
  let dataSource: DataSource;

  beforeAll(async () => {
    bff = await startTestApp({ DATA_ENCRYPTION_KEY: TEST_DATA_KEY }, engine);
    sessions = bff.app.get(SessionsService);
    dataSource = bff.app.get<DataSource>(getDataSourceToken());
  });
  afterAll(async () => {
    await bff?.close();
  });

  const nativeSession = async (mydexid: string | null) =>
    (await sessions.create({ client: 'native', issuer: 'https://mydex.example/', sub: `sub-${Math.random()}`, mydexid, idToken: null }))
      .token;

  const session = async (token: string) => {
    const response = await fetch(`${bff.url}/v1/session`, { headers: { authorization: `Bearer ${token}` } });
    return { status: response.status, body: (await response.json()) as { connected?: boolean; member?: { mydexid: string | null } } };
  };

  it('answers connected false before the member connects and true after, whatever the letter case of the MydexID', async () => {
    const token = await nativeSession('LookUp1');
    expect(await session(token)).toMatchObject({ status: 200, body: { connected: false, member: { mydexid: 'LookUp1' } } });
    const callback = await fetch(`${bff.url}/v1/connections/callback`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authentication: CALLBACK_AUTH },
      body: callbackForm({ uid: 4101, mydexid: 'lookup1' }),
    });
    expect(callback.status).toBe(200);
    expect(await session(token)).toMatchObject({ status: 200, body: { connected: true } });
    // Another member (no connection) and a session without a MydexID stay not connected.
    expect(await session(await nativeSession('lookup2'))).toMatchObject({ status: 200, body: { connected: false } });
    expect(await session(await nativeSession(null))).toMatchObject({ status: 200, body: { connected: false, member: { mydexid: null } } });
  });

  it('still refuses an unknown token with 401 session_required', async () => {
    const response = await fetch(`${bff.url}/v1/session`, { headers: { authorization: `Bearer ${'A'.repeat(43)}` } });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ code: 'session_required' });
  });

  // PostgreSQL only: there a statement is a round trip (SQLite runs in the process).
  if (engine === 'postgres')
    it('sends one statement to PostgreSQL per GET /v1/session (the connection check included)', async () => {
      const token = await nativeSession('roundtrip1');
      // last_seen_at was written at creation, so no idle-timeout touch is due: only the lookup runs.
      const pool = (dataSource.driver as unknown as { master: Pool }).master;
      const sent: string[] = [];
      const query = pool.query.bind(pool) as (...args: unknown[]) => unknown;
      (pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args: unknown[]) => {
        const first = args[0];
        sent.push(typeof first === 'string' ? first : String((first as { text?: string }).text));
        return query(...args);
      };
      try {
        expect(await session(token)).toMatchObject({ status: 200, body: { connected: false } });
      } finally {
        (pool as unknown as { query: unknown }).query = query;
      }
      expect(sent).toHaveLength(1);
      expect(sent[0]).toContain('"connections"');
    });
});

describe.each(ENGINES)('the sessions purge on %s', (engine) => {
  let bff: TestApp;
  beforeAll(async () => {
    bff = await startTestApp({}, engine);
  });
  afterAll(async () => {
    await bff?.close();
  });

  it('deletes, in batches, every session expired more than a day ago once a session is made, and nothing else', async () => {
    const repository = bff.app.get<DataSource>(getDataSourceToken()).getRepository(MemberSession);
    const now = Date.now();
    const row = (expiresAt: number): MemberSession =>
      repository.create({
        id: randomUUID(),
        tokenHash: randomUUID().replace(/-/g, '').padEnd(64, '0'),
        client: 'native',
        issuer: 'https://mydex.example/',
        sub: `sub-${randomUUID()}`,
        mydexid: null,
        idToken: null,
        sid: null,
        createdAt: new Date(expiresAt - 3600 * 1000),
        lastSeenAt: new Date(expiresAt - 3600 * 1000),
        expiresAt: new Date(expiresAt),
        revokedAt: null,
      });
    // More than two batches of long-expired rows; one expired an hour ago (kept a day); one live.
    const old = Array.from({ length: DELETE_BATCH[engine] * 2 + 7 }, (_, i) => row(now - 2 * 24 * 3600 * 1000 - i * 1000));
    for (let i = 0; i < old.length; i += 100) await repository.insert(old.slice(i, i + 100));
    const recent = row(now - 3600 * 1000);
    const live = row(now + 3600 * 1000);
    await repository.insert([recent, live]);
    // The app's first session starts the purge (beside the request, not in it).
    await bff.app
      .get(SessionsService)
      .create({ client: 'native', issuer: 'https://mydex.example/', sub: 'purge-trigger', mydexid: null, idToken: null });
    const cutoff = new Date(now - 24 * 3600 * 1000);
    const deadline = Date.now() + 20_000;
    while ((await repository.countBy({ expiresAt: LessThan(cutoff) })) > 0 && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await repository.countBy({ expiresAt: LessThan(cutoff) })).toBe(0);
    expect(await repository.existsBy({ id: recent.id })).toBe(true);
    expect(await repository.existsBy({ id: live.id })).toBe(true);
  });
});
