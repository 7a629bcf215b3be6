import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testingRoot } from '../../test/support/module-testing.js';
import { sessionConfig } from '../config/session.config.js';
import { SessionConnectionStatus } from './connection-status.js';
import { SessionModule } from './session.module.js';
import { sha256Hex } from './session-token.js';
import { SessionsService } from './sessions.service.js';

/**
 * SessionModule as a testing module: the real SessionsService over an in-memory database, with two
 * providers overridden: the session config (a one-hour lifetime) and SessionConnectionStatus, the
 * hook the Connection module fills in production (here a check that only `alice2024` is connected),
 * so the one-statement session lookup with `connected` runs without the Connection module.
 */
const TTL_SECONDS = 3600;
const connectionStatus = new SessionConnectionStatus();
connectionStatus.use(
  (member) => Promise.resolve(member.mydexid === 'alice2024'),
  (mydexidColumn) => `(${mydexidColumn} = 'alice2024')`,
);

describe('SessionModule (testing module, config and connection check overridden)', () => {
  let moduleRef: TestingModule;
  let sessions: SessionsService;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [testingRoot(), SessionModule] })
      .overrideProvider(sessionConfig.KEY)
      .useValue({ ...sessionConfig(), ttlSeconds: TTL_SECONDS })
      .overrideProvider(SessionConnectionStatus)
      .useValue(connectionStatus)
      .compile();
    sessions = moduleRef.get(SessionsService);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  const newSession = (mydexid: string | null, client: 'web' | 'native' = 'web') =>
    sessions.create({ client, issuer: 'https://mydex.example', sub: `sub-${mydexid ?? 'none'}`, mydexid, idToken: 'id-token' });

  it('finds the session by its token, for the client kind it was made for only', async () => {
    const { token, session } = await newSession('alice2024');

    expect(await sessions.findActive(token, 'web')).toMatchObject({ id: session.id, mydexid: 'alice2024', client: 'web' });
    expect(await sessions.findActive(token, 'native')).toBeNull();
    expect(await sessions.findActive(`${token.slice(0, -1)}x`, 'web')).toBeNull();
    expect(await sessions.findActive('not a token', 'web')).toBeNull();
  });

  it('keeps only the SHA-256 of the token, and ends the session at the configured lifetime', async () => {
    const before = Date.now();
    const { token, session } = await newSession('bob2024', 'native');

    expect(session.tokenHash).toBe(sha256Hex(token));
    expect(session.tokenHash).not.toContain(token);
    expect(session.expiresAt.getTime()).toBeGreaterThanOrEqual(before + TTL_SECONDS * 1000);
    expect(session.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + TTL_SECONDS * 1000);
  });

  it('reads `connected` in the same lookup, from the condition the connection check registered', async () => {
    const alice = await newSession('alice2024');
    const bob = await newSession('bob2024');

    expect(await sessions.findActive(alice.token, 'web', { connected: true })).toMatchObject({ mydexid: 'alice2024', connected: true });
    expect(await sessions.findActive(bob.token, 'web', { connected: true })).toMatchObject({ mydexid: 'bob2024', connected: false });
  });

  it('refuses a session once it is ended, and ends it only once', async () => {
    const { token } = await newSession('carol2024');

    expect(await sessions.endByToken(token, 'web')).toBe(true);
    expect(await sessions.findActive(token, 'web')).toBeNull();
    expect(await sessions.endByToken(token, 'web')).toBe(false);
  });
});
