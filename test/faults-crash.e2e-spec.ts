import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { CALLBACK_AUTH, callbackForm, NID, TEST_DATA_KEY } from './support/connection-callback.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';
import { buildForNode, type NodeBuild } from './support/node-build.js';
import { sendRaw } from './support/raw-http.js';

/**
 * kill -9 of the BFF in the middle of a burst of Mydex connection callbacks, then a restart on the
 * same database: every callback that was answered 200 must be in the database (Mydex stops
 * retrying a delivery once it got 200, so a 200 for an unsaved callback loses a member's key).
 * The BFF runs in a child process from a private SWC build of src/ (test/support/node-build.ts).
 */

const RUNNER = join(import.meta.dirname, 'support', 'bff-process.mjs');
const CONCURRENCY = 16;
/** Kill once this many callbacks were acknowledged, with CONCURRENCY more in flight. */
const KILL_AFTER_ACKS = 150;

let build: NodeBuild;
const children = new Set<ChildProcess>();
beforeAll(async () => {
  build = await buildForNode();
});
afterAll(() => {
  for (const child of children) child.kill('SIGKILL');
  build?.remove();
});

async function startBff(database: DatabaseTarget): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [RUNNER, build.appFactory], {
    env: {
      ...process.env,
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      RATE_LIMITS: 'off',
      PORT: '0',
      DATABASE_URL: database.url,
      DATA_ENCRYPTION_KEY: TEST_DATA_KEY,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.on('exit', () => children.delete(child));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the BFF did not start within 30 s: ${stderr}`)), 30_000);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the BFF exited (${code}) before listening: ${stderr}`));
    });
  });
  return { child, url };
}

const postCallback = (url: string, uid: number, agent: Agent) =>
  sendRaw(
    url,
    {
      method: 'POST',
      path: '/v1/connections/callback',
      headers: { authentication: CALLBACK_AUTH, 'content-type': 'application/x-www-form-urlencoded' },
      body: Buffer.from(callbackForm({ uid, mydexid: `crash${uid}`, key: `member-key-${uid}-0123456789` })),
    },
    agent,
    10_000,
  );

describe.each(ENGINES)('kill -9 during a burst of connection callbacks (%s)', (engine) => {
  let database: DatabaseTarget;
  beforeAll(async () => {
    database = await freshDatabase(engine);
  });
  afterAll(async () => database?.drop());

  it('keeps every callback that was answered 200, and the restarted BFF serves the same database', async () => {
    const first = await startBff(database);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const acknowledged: number[] = [];
    let sent = 0;
    let failed = 0;
    let killed = false;
    const started = Date.now();
    const worker = async () => {
      while (!killed || sent === 0) {
        const uid = 10_000 + sent++;
        try {
          const response = await postCallback(first.url, uid, agent);
          if (response.status === 200) acknowledged.push(uid);
          else failed++;
        } catch {
          failed++;
        }
        if (!killed && acknowledged.length >= KILL_AFTER_ACKS) {
          killed = true;
          first.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    agent.destroy();
    await new Promise((resolve) =>
      first.child.exitCode !== null || first.child.signalCode !== null ? resolve(undefined) : first.child.once('exit', resolve),
    );
    expect(first.child.signalCode).toBe('SIGKILL');
    expect(acknowledged.length).toBeGreaterThanOrEqual(KILL_AFTER_ACKS);

    const second = await startBff(database);
    try {
      expect((await fetch(`${second.url}/health/ready`)).status).toBe(200);
      const after = await postCallback(second.url, 99_999, new Agent());
      expect(after.status).toBe(200);

      const db = await new DataSource(dataSourceOptions(database.url)).initialize();
      try {
        const rows = (await db.query('SELECT connection_id FROM connections')) as { connection_id: string }[];
        const stored = new Set(rows.map((row) => row.connection_id));
        const lost = acknowledged.filter((uid) => !stored.has(`${uid}-${NID}`));
        expect(lost, `acknowledged but not stored: ${lost.join(', ')}`).toEqual([]);
        expect(stored.has(`99999-${NID}`)).toBe(true);
        const [events] = (await db.query('SELECT COUNT(*) AS n FROM connection_events')) as { n: number | string }[];
        expect(Number(events!.n)).toBeGreaterThanOrEqual(acknowledged.length + 1);
        process.stdout.write(
          `faults-crash (${engine}): ${sent} callbacks sent, ${acknowledged.length} answered 200 before kill -9, ` +
            `${failed} cut off, ${stored.size - 1} stored before the kill, 0 lost; burst ${Date.now() - started} ms\n`,
        );
      } finally {
        await db.destroy();
      }
    } finally {
      second.child.kill('SIGKILL');
    }
  }, 90_000);
});
