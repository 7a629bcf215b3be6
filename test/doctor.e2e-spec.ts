import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { defaultEmulatorOptions, startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { freePort } from '../emulator/testing/free-port.js';
import { LOCAL_EMULATOR } from '../src/config/environment.js';
import { runDoctor, type CheckResult, type CheckStatus, type DoctorReport } from '../src/doctor/doctor.js';
import { makeSecrets, type StackSecrets } from './support/bff-stack.js';
import { ENGINES, freshDatabase, freshSqlite, type DatabaseTarget } from './support/database.js';
import { buildForNode, type NodeBuild } from './support/node-build.js';

/**
 * `npm run doctor` (src/doctor/doctor.ts) against the real emulator: with a deployment's MYDEX_*
 * settings pointed at it every line passes; with one setting off, that line fails and the exit code
 * is 1; no secret is ever printed. Without MYDEX_* settings it checks the local emulator, starting one
 * when none is listening.
 */

const REDIS_URL = process.env.TEST_REDIS_URL;
if (!REDIS_URL) process.stdout.write('doctor: the Redis line is checked only as "not set": TEST_REDIS_URL is not set (.ci/run sets it).\n');

interface Run {
  report: DoctorReport;
  output: string;
  line(title: string): CheckResult;
}

async function doctor(env: Record<string, string | undefined>): Promise<Run> {
  const lines: string[] = [];
  const report = await runDoctor({ env, write: (line) => lines.push(line) });
  return {
    report,
    output: lines.join('\n'),
    line(title) {
      const found = report.results.find((result) => result.title.startsWith(title));
      if (!found) throw new Error(`no line "${title}" in:\n${lines.join('\n')}`);
      return found;
    },
  };
}

function statuses(run: Run): Record<string, CheckStatus> {
  return Object.fromEntries(run.report.results.map((result) => [result.title, result.status]));
}

function expectNoSecret(run: Run, secrets: string[]): void {
  for (const secret of secrets) expect(run.output, 'a secret was printed').not.toContain(secret);
}

let emulator: RunningEmulator;
let secrets: StackSecrets;
let sqlite: DatabaseTarget;

beforeAll(async () => {
  secrets = makeSecrets();
  emulator = await startEmulator({
    port: 0,
    clientId: LOCAL_EMULATOR.clientId,
    clientSecret: secrets.clientSecret,
    connectionNid: LOCAL_EMULATOR.connectionNid,
    connectionToken: secrets.connectionToken,
    redirectUris: ['http://127.0.0.1:3999/v1/auth/oidc/callback'],
    postLogoutRedirectUris: ['http://127.0.0.1:3999/'],
    callbackUrl: 'http://127.0.0.1:3999/v1/connections/callback',
  });
  sqlite = freshSqlite();
});

afterAll(async () => {
  await emulator?.close();
  await sqlite?.drop();
});

/** A deployment's settings, pointed at the emulator instead of Mydex. */
function deployment(extra: Record<string, string | undefined> = {}): Record<string, string | undefined> {
  return {
    MYDEX_ISSUER: emulator.issuer,
    MYDEX_PDX_URL: emulator.url,
    MYDEX_CLIENT_ID: LOCAL_EMULATOR.clientId,
    MYDEX_CLIENT_SECRET: secrets.clientSecret,
    MYDEX_CONNECTION_NID: LOCAL_EMULATOR.connectionNid,
    MYDEX_CONNECTION_TOKEN: secrets.connectionToken,
    DATA_ENCRYPTION_KEY: secrets.dataEncryptionKey,
    PUBLIC_BASE_URL: 'http://127.0.0.1:3999',
    FRONTEND_ORIGINS: 'http://127.0.0.1:3999',
    DATABASE_URL: sqlite.url,
    REDIS_URL,
    ...extra,
  };
}

const allSecrets = () => [secrets.clientSecret, secrets.connectionToken, secrets.callbackAuth, secrets.dataEncryptionKey];

describe.each(ENGINES)("doctor with a deployment's settings pointed at the emulator (%s)", (engine) => {
  let database: DatabaseTarget;
  beforeAll(async () => {
    database = await freshDatabase(engine);
  });
  afterAll(async () => {
    await database?.drop();
  });

  it('passes every line and exits 0, printing no secret', async () => {
    const run = await doctor(deployment({ DATABASE_URL: database.url }));
    expect(run.report.target).toBe('mydex');
    // Outside production the settings line may warn about what a production start would refuse (the
    // emulator's http URLs); every other line passes.
    expect(Object.entries(statuses(run)).filter(([title, status]) => status !== 'ok' && !title.startsWith('Settings valid'))).toEqual([]);
    expect(run.line('Settings valid').status).not.toBe('fail');
    expect(run.report.exitCode).toBe(0);
    for (const title of [
      'PUBLIC_BASE_URL https',
      'Discovery reachable',
      'Issuer matches MYDEX_ISSUER',
      'authorization_endpoint present',
      'token_endpoint present',
      'jwks_uri present',
      'end_session_endpoint present',
      'PKCE S256 supported',
      'Scopes supported (openid mydexid)',
      'Client-credentials token',
      'Short access token',
      'Dedicated Connection token accepted',
      'Database reachable',
      'Redis reachable',
    ]) {
      expect(run.line(title).status, title).toBe('ok');
    }
    expect(run.line('Database reachable').detail).toContain(engine);
    if (REDIS_URL) expect(run.line('Redis reachable').detail).toContain('PONG');
    expect(run.output).toContain('0 failed');
    expectNoSecret(run, allSecrets());
  });
});

describe('doctor with one setting off', () => {
  it('MYDEX_CLIENT_SECRET not the one Mydex issued: the client-credentials line fails with the reason, exit 1', async () => {
    const other = `client-secret-${Date.now()}-not-issued`;
    const run = await doctor(deployment({ MYDEX_CLIENT_SECRET: other }));
    expect(run.line('Client-credentials token').status).toBe('fail');
    expect(run.line('Client-credentials token').detail).toMatch(/MYDEX_CLIENT_SECRET/);
    expect(run.line('Discovery reachable').status).toBe('ok');
    expect(run.report.exitCode).toBe(1);
    expect(run.output).toContain('[FAIL] Client-credentials token');
    expectNoSecret(run, [...allSecrets(), other]);
  });

  it('MYDEX_CONNECTION_TOKEN=wrong: the Dedicated Connection line fails, the token line passes, exit 1', async () => {
    const run = await doctor(deployment({ MYDEX_CONNECTION_TOKEN: 'wrong' }));
    expect(run.line('Client-credentials token').status).toBe('ok');
    expect(run.line('Short access token').status).toBe('ok');
    const line = run.line('Dedicated Connection token accepted');
    expect(line.status).toBe('fail');
    expect(line.detail).toMatch(/MYDEX_CONNECTION_TOKEN/);
    expect(run.report.exitCode).toBe(1);
    expectNoSecret(run, [...allSecrets(), 'wrong']);
  });

  it('MYDEX_CONNECTION_NID unknown to Mydex: the short access token line fails, exit 1', async () => {
    const run = await doctor(deployment({ MYDEX_CONNECTION_NID: '99999' }));
    const line = run.line('Short access token');
    expect(line.status).toBe('fail');
    expect(line.detail).toMatch(/MYDEX_CONNECTION_NID/);
    expect(run.report.exitCode).toBe(1);
    expectNoSecret(run, allSecrets());
  });

  it('MYDEX_ISSUER spelled differently from the issuer discovery names: the issuer line fails, exit 1', async () => {
    // The emulator's issuer is http://localhost:<port>; the same server under 127.0.0.1 is another issuer.
    const run = await doctor(deployment({ MYDEX_ISSUER: emulator.url.replace('localhost', '127.0.0.1') }));
    expect(run.line('Discovery reachable').status).toBe('ok');
    const line = run.line('Issuer matches MYDEX_ISSUER');
    expect(line.status).toBe('fail');
    expect(line.detail).toContain(emulator.issuer);
    expect(run.report.exitCode).toBe(1);
  });

  it('MYDEX_ISSUER where nothing answers: discovery fails and what depends on it says it was not checked', async () => {
    const port = await freePort();
    const run = await doctor(deployment({ MYDEX_ISSUER: `http://127.0.0.1:${port}` }));
    expect(run.line('Discovery reachable').status).toBe('fail');
    expect(run.line('Discovery reachable').detail).toMatch(/could not be reached/);
    expect(run.line('Issuer matches MYDEX_ISSUER').status).toBe('skip');
    expect(run.line('PKCE S256 supported').status).toBe('skip');
    expect(run.line('authorization_endpoint present').status).toBe('fail');
    expect(run.line('end_session_endpoint present').status).toBe('warn');
    expect(run.report.exitCode).toBe(1);
  });

  it('respects the MYDEX_*_URL overrides: the endpoint line names the setting it came from', async () => {
    const run = await doctor(
      deployment({
        MYDEX_END_SESSION_URL: `${emulator.url}/oauth2/sessions/logout`,
        MYDEX_JWKS_URL: `${emulator.url}/.well-known/jwks.json`,
      }),
    );
    expect(run.line('end_session_endpoint present').detail).toContain('from MYDEX_END_SESSION_URL');
    expect(run.line('jwks_uri present').detail).toContain('from MYDEX_JWKS_URL');
    expect(run.line('token_endpoint present').detail).toContain('from discovery');
    expect(run.report.exitCode).toBe(0);
  });

  it('production with an http PUBLIC_BASE_URL: that line fails, exit 1; with https it passes', async () => {
    const http = await doctor(deployment({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'http://bff.mydex-subscriber.test' }));
    expect(http.line('PUBLIC_BASE_URL https').status).toBe('fail');
    expect(http.line('PUBLIC_BASE_URL https').detail).toMatch(/production needs https/);
    expect(http.report.exitCode).toBe(1);
    const https = await doctor(deployment({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'https://bff.mydex-subscriber.test' }));
    expect(https.line('PUBLIC_BASE_URL https').status).toBe('ok');
    expect(https.line('PUBLIC_BASE_URL https').detail).toContain('https://bff.mydex-subscriber.test/v1/auth/oidc/backchannel-logout');
    expectNoSecret(http, allSecrets());
  });

  it('production with a placeholder secret: the settings line fails naming the variable, the other checks still run, exit 1', async () => {
    const run = await doctor(deployment({ NODE_ENV: 'production', MYDEX_CONNECTION_TOKEN: 'change-me-please' }));
    const line = run.line('Settings valid');
    expect(line.status).toBe('fail');
    expect(line.detail).toContain('MYDEX_CONNECTION_TOKEN: is a placeholder');
    expect(run.line('Client-credentials token').status).toBe('ok');
    expect(run.report.exitCode).toBe(1);
    expectNoSecret(run, [...allSecrets(), 'change-me-please']);
  });

  it('settings that are not valid at all: that line fails and nothing else runs, exit 1', async () => {
    const run = await doctor(deployment({ MYDEX_CONNECTION_NID: 'forty-five' }));
    expect(run.line('Settings valid').status).toBe('fail');
    expect(run.line('Settings valid').detail).toContain('MYDEX_CONNECTION_NID');
    expect(run.report.results.filter((result) => result.status === 'ok')).toEqual([]);
    expect(run.report.exitCode).toBe(1);
  });

  it('outside production, real settings that production would refuse are a warning, not a failure', async () => {
    const run = await doctor(
      deployment({ DATA_ENCRYPTION_KEY: undefined, DATA_ENCRYPTION_KEY_FILE: `${sqlite.url.slice('sqlite:'.length)}.key` }),
    );
    expect(run.line('Settings valid').status).toBe('warn');
    expect(run.line('Settings valid').detail).toContain('DATA_ENCRYPTION_KEY: required in production');
    expect(run.report.exitCode).toBe(0);
  });

  it('database and Redis unreachable: both lines fail without printing their passwords', async () => {
    const closed = await freePort();
    const run = await doctor(
      deployment({
        DATABASE_URL: `postgres://doctor:db-pass-${closed}@127.0.0.1:${closed}/bff`,
        REDIS_URL: `redis://:redis-pass-${closed}@127.0.0.1:${closed}`,
      }),
    );
    expect(run.line('Database reachable').status).toBe('fail');
    expect(run.line('Database reachable').detail).toContain(`postgres://127.0.0.1:${closed}/bff`);
    expect(run.line('Redis reachable').status).toBe('fail');
    expect(run.report.exitCode).toBe(1);
    expectNoSecret(run, [...allSecrets(), `db-pass-${closed}`, `redis-pass-${closed}`]);
  });
});

describe('doctor with no MYDEX_* settings: the local emulator', () => {
  it('starts the emulator in this process when none is listening on EMULATOR_PORT, passes, exits 0 and stops it', async () => {
    const port = await freePort();
    const run = await doctor({ EMULATOR_PORT: String(port), DATABASE_URL: sqlite.url });
    expect(run.report.target).toBe('emulator');
    expect(run.line('Local emulator').status).toBe('ok');
    expect(Object.entries(statuses(run)).filter(([, status]) => status !== 'ok')).toEqual([]);
    expect(run.report.exitCode).toBe(0);
    // Stopped again: the port can be listened on.
    await new Promise<void>((resolve, reject) => {
      const server = createServer().once('error', reject);
      server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
    });
  });

  describe('with `npm run emulator` already listening', () => {
    let local: RunningEmulator;
    beforeAll(async () => {
      local = await startEmulator({ ...defaultEmulatorOptions({}), port: 0 });
    });
    afterAll(async () => {
      await local?.close();
    });

    it('checks that emulator without starting another, and passes', async () => {
      const run = await doctor({ EMULATOR_PORT: String(local.options.port), DATABASE_URL: sqlite.url });
      expect(run.report.results.some((result) => result.title === 'Local emulator')).toBe(false);
      expect(run.line('Issuer matches MYDEX_ISSUER').detail).toBe(local.issuer);
      expect(run.report.exitCode).toBe(0);
    });

    it('MYDEX_CONNECTION_TOKEN=wrong: the Dedicated Connection line fails, exit 1, and the value is not printed', async () => {
      const run = await doctor({ EMULATOR_PORT: String(local.options.port), DATABASE_URL: sqlite.url, MYDEX_CONNECTION_TOKEN: 'wrong' });
      expect(run.line('Dedicated Connection token accepted').status).toBe('fail');
      expect(run.report.exitCode).toBe(1);
      expect(run.output).toContain('[FAIL] Dedicated Connection token accepted');
      expectNoSecret(run, ['wrong', LOCAL_EMULATOR.connectionToken]);
    });
  });
});

describe('the doctor as a process (scripts/doctor.ts, what `npm run doctor` runs)', () => {
  let build: NodeBuild;
  beforeAll(async () => {
    build = await buildForNode(['src', 'emulator', 'scripts']);
  });
  afterAll(() => build?.remove());

  function runCli(env: Record<string, string | undefined>): Promise<{ code: number | null; output: string }> {
    const clean = Object.fromEntries(
      Object.entries({ PATH: process.env.PATH, ...env }).filter((entry): entry is [string, string] => entry[1] !== undefined),
    );
    return new Promise((resolve) => {
      execFile(process.execPath, [join(build.dir, 'scripts', 'doctor.js')], { env: clean, timeout: 60_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, output: `${stdout}${stderr}` });
      });
    });
  }

  it('exits 0 when every check passes and 1 when the Connection Token is refused, printing no secret', async () => {
    const green = await runCli(deployment());
    expect(green.output).toContain('0 failed');
    expect(green.code).toBe(0);
    const red = await runCli(deployment({ MYDEX_CONNECTION_TOKEN: 'wrong' }));
    expect(red.output).toContain('[FAIL] Dedicated Connection token accepted');
    expect(red.code).toBe(1);
    for (const secret of [...allSecrets(), 'wrong']) expect(green.output + red.output).not.toContain(secret);
  });
});
