import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { CALLBACK_AUTH, callbackForm, TEST_DATA_KEY } from './support/connection-callback.js';
import { createPrivatePostgres, postgresBinaries, type PrivatePostgres } from './support/private-postgres.js';

/**
 * PostgreSQL stopped and restarted under a running BFF: while it is down, readiness and every
 * request that needs it answer 503 problem+json (database_unavailable, Retry-After), never a 500;
 * once it is back the same process serves again, with no restart. Runs on a private cluster so the
 * shared server on 5432 is never touched.
 */

const binaries = postgresBinaries();
const SKIP = 'missing' in binaries;
if (SKIP) process.stdout.write(`faults-database: skipped: ${binaries.missing}.\n`);

const expectProblem = async (response: Response, status: number, code?: string) => {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(text) as { code: string };
  if (code) expect(body.code).toBe(code);
  expect(text).not.toMatch(/ECONNREFUSED|\bat \S+ \(|node_modules|terminat/i);
  return body;
};

describe.skipIf(SKIP)('PostgreSQL stopped and restarted under a running BFF', () => {
  let pg: PrivatePostgres;
  let t: TestApp;
  const missing = () => fetch(`${t.url}/v1/registrations/${randomUUID()}`);
  const session = () => fetch(`${t.url}/v1/session`, { headers: { cookie: 'bff_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
  const callback = (uid: number) =>
    fetch(`${t.url}/v1/connections/callback`, {
      method: 'POST',
      headers: { authentication: CALLBACK_AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      body: callbackForm({ uid, mydexid: `pgfault${uid}` }),
    });

  beforeAll(async () => {
    if ('missing' in binaries) return;
    pg = await createPrivatePostgres(binaries.bin);
    pg.start();
    t = await startTestApp({ DATA_ENCRYPTION_KEY: TEST_DATA_KEY }, 'postgres', {
      database: { engine: 'postgres', url: pg.url, drop: async () => undefined },
    });
  }, 90_000);
  afterAll(async () => {
    await t?.close();
    pg?.remove();
  });

  it('answers 503 problem+json while the database is down and recovers without a restart', async () => {
    expect((await fetch(`${t.url}/health/ready`)).status).toBe(200);
    expect((await missing()).status).toBe(404);
    expect((await session()).status).toBe(401);
    expect((await callback(101)).status).toBe(200);

    pg.stop();
    await expectProblem(await fetch(`${t.url}/health/ready`), 503);
    // Twice each: the first meets connections the server closed, the second a refused connect.
    for (let round = 0; round < 2; round++) {
      const body = await expectProblem(await missing(), 503, 'database_unavailable');
      expect(body).toMatchObject({ status: 503, requestId: expect.any(String) });
      await expectProblem(await session(), 503, 'database_unavailable');
      await expectProblem(await callback(102 + round), 503, 'database_unavailable');
    }
    const retry = await missing();
    expect(Number(retry.headers.get('retry-after'))).toBeGreaterThan(0);
    // Liveness does not depend on the database: the process must not be restarted for this.
    expect((await fetch(`${t.url}/health/live`)).status).toBe(200);

    pg.start();
    let ready = 0;
    for (let i = 0; i < 50 && ready !== 200; i++) {
      ready = (await fetch(`${t.url}/health/ready`)).status;
      if (ready !== 200) await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(ready).toBe(200);
    expect((await missing()).status).toBe(404);
    expect((await session()).status).toBe(401);
    expect((await callback(104)).status).toBe(200);
  }, 90_000);
});
