import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../emulator/testing/free-port.js';

const entry = join(import.meta.dirname, '../dist/src/main.js');

/** The environment of a fresh machine: nothing of ours set. */
function bareEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME };
  return { ...env, ...extra };
}

describe('the built BFF as `npm start` runs it', () => {
  const children: ChildProcess[] = [];
  afterAll(() => children.forEach((child) => child.kill('SIGTERM')));

  it('answers /health/ready within 5 s with no configuration, on SQLite, beside the emulator', async () => {
    const [port, emulatorPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'bff-start-'));
    const started = Date.now();
    const child = spawn(process.execPath, [entry], {
      cwd: dir,
      env: bareEnv({ PORT: String(port), EMULATOR_PORT: String(emulatorPort), PUBLIC_BASE_URL: `http://localhost:${port}` }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    let ready = 0;
    while (Date.now() - started < 5000) {
      const res = await fetch(`http://127.0.0.1:${port}/health/ready`).catch(() => undefined);
      if (res?.status === 200) {
        ready = Date.now() - started;
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(ready, `not ready within 5 s; output:\n${output}`).toBeGreaterThan(0);
    expect(output).toContain('local Mydex emulator');
  });

  it('prints, once ready, the demo, API docs and emulator addresses and how to stop, and logs JSON into a pipe', async () => {
    const [port, emulatorPort] = [await freePort(), await freePort()];
    const dir = mkdtempSync(join(tmpdir(), 'bff-start-'));
    const child = spawn(process.execPath, [entry], {
      cwd: dir,
      // Only PORT: the addresses printed follow it (PUBLIC_BASE_URL is derived outside production).
      env: bareEnv({ PORT: String(port), EMULATOR_PORT: String(emulatorPort) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const started = Date.now();
    while (!output.includes('Press Ctrl+C to stop.') && Date.now() - started < 20_000) await new Promise((r) => setTimeout(r, 100));
    // Printed once the BFF answers: readiness is already 200.
    expect((await fetch(`http://127.0.0.1:${port}/health/ready`)).status).toBe(200);
    const block = output.slice(output.indexOf('Mydex BFF ready on'));
    expect(block, output).toBe(
      [
        `Mydex BFF ready on http://localhost:${port} (port ${port})`,
        `  Demo:           http://localhost:${port}/`,
        `  API docs:       http://localhost:${port}/docs`,
        `  Mydex emulator: http://localhost:${emulatorPort}`,
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
    // stdout is a pipe here, not a terminal: the start-up logs are JSON, not pino-pretty's.
    const logLines = output.split('\n').filter((line) => line.includes('Nest application successfully started'));
    expect(logLines).toHaveLength(1);
    expect(JSON.parse(logLines[0]!)).toMatchObject({ level: 30, context: 'NestApplication' });
  });

  it('refuses to start in production without Mydex settings and secrets, naming each variable', () => {
    const result = spawnSync(process.execPath, [entry], { env: bareEnv({ NODE_ENV: 'production' }), encoding: 'utf8', timeout: 20_000 });
    expect(result.status).toBe(78);
    for (const name of ['MYDEX_ISSUER', 'MYDEX_CLIENT_SECRET', 'MYDEX_CONNECTION_TOKEN', 'DATA_ENCRYPTION_KEY']) {
      expect(result.stderr).toContain(name);
    }
  });
});
