import { spawn, type ChildProcess } from 'node:child_process';
import { Agent } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger as PinoInstance } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../emulator/testing/free-port.js';
import { ROOT_LOGGER } from '../src/common/logging/logging.module.js';
import { startTestApp, type TestApp } from './support/app.js';
import { captureOutput } from './support/capture-output.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';
import { buildForNode, type NodeBuild } from './support/node-build.js';
import { sendRaw } from './support/raw-http.js';

/**
 * The request log as production writes it (docs/operations.md, "Logs"): the BFF's own main.js from a
 * private SWC build (test/support/node-build.ts; never dist/), in a child process whose stdout is a pipe,
 * so the logs are JSON through the asynchronous, buffered destination. Every request answered before a
 * SIGTERM or a fatal error has its line on stdout when the process has ended.
 */

const PRELOAD = join(import.meta.dirname, 'support', 'fatal-on-stdin.mjs');
const REQUESTS = 300;
const CONCURRENCY = 16;

interface Running {
  child: ChildProcess;
  url: string;
  stdout: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

let build: NodeBuild;
const children = new Set<ChildProcess>();
const cleanups: (() => Promise<void> | void)[] = [];
beforeAll(async () => {
  build = await buildForNode(['src', 'emulator']);
});
afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  for (const cleanup of cleanups) await cleanup();
  build?.remove();
});

async function startMain(database: DatabaseTarget, env: Record<string, string> = {}): Promise<Running> {
  const [port, emulatorPort] = [await freePort(), await freePort()];
  const cwd = mkdtempSync(join(tmpdir(), 'bff-logging-'));
  cleanups.push(() => rmSync(cwd, { recursive: true, force: true }));
  const child = spawn(process.execPath, ['--import', PRELOAD, join(build.dir, 'src', 'main.js')], {
    cwd,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: 'development',
      LOG_LEVEL: 'info',
      RATE_LIMITS: 'off',
      PORT: String(port),
      EMULATOR_PORT: String(emulatorPort),
      PUBLIC_BASE_URL: `http://localhost:${port}`,
      DATABASE_URL: database.url,
      // Buffered lines are written only when 4 KiB gathered or on shutdown/fatal: the tail of each test's
      // load waits in the buffer, and only those flushes can write it.
      LOG_FLUSH_INTERVAL_MS: '60000',
      ...env,
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  const deadline = Date.now() + 30_000;
  while (!stdout.includes('Press Ctrl+C to stop.')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`main.js did not start: ${stdout}\n${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { child, url: `http://127.0.0.1:${port}`, stdout: () => stdout, exited };
}

/** REQUESTS requests, CONCURRENCY at a time; the request ids of our answers. */
async function load(url: string): Promise<string[]> {
  const ids: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  const worker = async () => {
    while (next < REQUESTS) {
      const i = next++;
      const res =
        i % 2 === 0
          ? await sendRaw(url, { method: 'GET', path: `/v1/no-such-route?n=${i}&code=secret${i}`, headers: {} }, agent)
          : await sendRaw(
              url,
              {
                method: 'POST',
                path: '/v1/validation/registration',
                headers: { 'content-type': 'application/json' },
                body: Buffer.from(JSON.stringify({ mydexid: `alice${i}`, email: 'alice@example.org', password: `correct horse ${i}` })),
              },
              agent,
            );
      ids.push(res.headers['x-request-id'] as string);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  agent.destroy();
  return ids;
}

const jsonLines = (text: string): Record<string, unknown>[] =>
  text
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe.each(ENGINES)('request log lines from the running BFF (%s)', (engine) => {
  let database: DatabaseTarget;
  beforeAll(async () => {
    database = await freshDatabase(engine);
    cleanups.push(() => database.drop());
  });

  it('SIGTERM right after the last answer: every request line reached stdout', async () => {
    const bff = await startMain(database);
    const ids = await load(bff.url);
    expect(new Set(ids).size).toBe(REQUESTS);
    bff.child.kill('SIGTERM');
    const exit = await bff.exited;
    expect(exit.code === 0 || exit.signal === 'SIGTERM', `exit ${JSON.stringify(exit)}`).toBe(true);
    const lines = jsonLines(bff.stdout()).filter((line) => line.msg === 'request completed');
    const logged = new Set(lines.map((line) => line.requestId));
    expect(ids.filter((id) => !logged.has(id))).toEqual([]);
    // The same line as before: fields, redaction, no bodies.
    const sample = lines.find((line) => String((line.req as { url: string }).url).startsWith('/v1/no-such-route'))!;
    expect(sample).toMatchObject({ level: 30, res: { statusCode: 404 }, req: { method: 'GET' } });
    expect((sample.req as { url: string }).url).toMatch(/^\/v1\/no-such-route\?n=\d+&code=\[redacted\]$/);
    expect(typeof sample.responseTime).toBe('number');
    expect(bff.stdout()).not.toContain('correct horse');
    expect(bff.stdout()).not.toMatch(/code=secret\d/);
  });

  for (const [command, message] of [
    ['throw', 'uncaught exception: exiting'],
    ['reject', 'unhandled promise rejection: exiting'],
  ] as const) {
    it(`a fatal error (${command}) is logged at fatal after every request line, and the process exits 1`, async () => {
      const bff = await startMain(database);
      const ids = await load(bff.url);
      bff.child.stdin!.write(`${command}\n`);
      const exit = await bff.exited;
      expect(exit).toEqual({ code: 1, signal: null });
      const lines = jsonLines(bff.stdout());
      const logged = new Set(lines.filter((line) => line.msg === 'request completed').map((line) => line.requestId));
      expect(ids.filter((id) => !logged.has(id))).toEqual([]);
      const fatal = lines.find((line) => line.level === 60);
      expect(fatal).toMatchObject({
        msg: message,
        err: { message: `boom from the test: ${command === 'throw' ? 'uncaught' : 'rejected'}` },
      });
      expect(String((fatal!.err as { stack: string }).stack)).toContain('fatal-on-stdin.mjs');
    });
  }
});

describe('human-readable logs', () => {
  it('LOG_FORMAT=pretty: pino-pretty lines instead of JSON, still redacted', async () => {
    const database = await freshDatabase('sqlite');
    cleanups.push(() => database.drop());
    const bff = await startMain(database, { LOG_FORMAT: 'pretty' });
    const agent = new Agent();
    const res = await sendRaw(bff.url, { method: 'GET', path: '/v1/no-such-route?code=prettysecret', headers: {} }, agent);
    agent.destroy();
    bff.child.kill('SIGTERM');
    await bff.exited;
    const out = bff.stdout();
    const line = out.split('\n').find((l) => l.includes(res.headers['x-request-id'] as string));
    expect(line, out).toBeDefined();
    expect(line).toMatch(/INFO.*: GET \/v1\/no-such-route\?code=\[redacted\] → 404 in [\d.]+ ms \{"requestId":"/);
    expect(out).not.toContain('prettysecret');
    expect(jsonLines(out)).toEqual([]);
  });
});

describe('the request log line', () => {
  let t: TestApp;
  let output: ReturnType<typeof captureOutput>;
  beforeAll(async () => {
    output = captureOutput();
    t = await startTestApp({ LOG_LEVEL: 'info' }, 'sqlite', { quiet: false });
  });
  afterAll(async () => {
    try {
      await t?.close();
    } finally {
      output?.restore();
    }
  });

  it('is written without a child logger per request', async () => {
    // Every pino logger of the process inherits child() from pino's prototype: count the calls there.
    let owner: object | null = t.app.get<PinoInstance>(ROOT_LOGGER);
    while (owner !== null && !Object.prototype.hasOwnProperty.call(owner, 'child')) owner = Object.getPrototypeOf(owner) as object | null;
    const proto = owner as { child: (...args: unknown[]) => unknown };
    const original = proto.child;
    let children = 0;
    proto.child = function (this: unknown, ...args: unknown[]) {
      children += 1;
      return original.apply(this, args);
    };
    const agent = new Agent({ keepAlive: true });
    try {
      for (let i = 0; i < 20; i++) {
        const res = await sendRaw(
          t.url,
          { method: 'GET', path: '/v1/validation/rules', headers: { 'x-request-id': `client-${i}` } },
          agent,
        );
        expect(res.status).toBe(200);
      }
    } finally {
      proto.child = original;
      agent.destroy();
    }
    const lines = output.lines
      .join('')
      .split('\n')
      .filter((line) => line.includes('"request completed"'));
    expect(lines.length).toBeGreaterThanOrEqual(20);
    expect(children).toBe(0);
  });
});
