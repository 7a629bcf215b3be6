import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhookOutbox } from '../src/webhooks/webhook-outbox.js';
import { startTestApp, type TestApp } from './support/app.js';
import { waitFor } from './support/webhook-receiver.js';

/**
 * The receiver of docs/extending.md ("Receive a webhook"), run exactly as printed there (the first
 * js block of that section) in its own Node process, against the real BFF.
 */

function exampleCode(): string {
  const page = readFileSync(join(import.meta.dirname, '..', 'docs', 'extending.md'), 'utf8');
  const section = page.split(/^## /m).find((part) => part.startsWith('Receive a webhook'));
  const code = /```js\n([\s\S]*?)```/.exec(section ?? '')?.[1];
  if (!code) throw new Error('docs/extending.md has no js block under "## Receive a webhook"');
  return code;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

describe('the receiver example of docs/extending.md', () => {
  let receiver: ChildProcess;
  let url: string;
  let output = '';
  let bff: TestApp;

  beforeAll(async () => {
    const code = exampleCode();
    expect(code.trim().split('\n').length).toBeLessThanOrEqual(22);
    const port = await freePort();
    url = `http://127.0.0.1:${port}/webhooks`;
    receiver = spawn(process.execPath, ['--input-type=module', '-e', code], {
      env: { ...process.env, WEBHOOK_SECRET: SECRET, PORT: String(port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    receiver.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    receiver.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('the example to listen', async () =>
      fetch(url, { method: 'POST', body: '{}' }).then(
        () => true,
        () => false,
      ),
    );
    bff = await startTestApp({ WEBHOOK_URL: url, WEBHOOK_SECRET: SECRET, WEBHOOK_POLL_INTERVAL_MS: '100' });
  });
  afterAll(async () => {
    await bff?.close();
    receiver?.kill();
  });

  it('verifies a webhook the BFF sends, and the BFF marks it delivered on its 204', async () => {
    const outbox = bff.app.get(WebhookOutbox);
    const dataSource = bff.app.get(DataSource);
    const id = await dataSource.transaction((manager) =>
      outbox.enqueue(manager, { type: 'connection.established', data: { connectionId: '7-45678', uid: 7 } }),
    );
    await waitFor('the example to print the event', () => output.includes(`verified connection.established ${id}`));
    await waitFor('the row marked delivered', async () => {
      const [row] = (await dataSource.query('SELECT "delivered_at", "attempts" FROM "webhook_outbox"')) as {
        delivered_at: unknown;
        attempts: number;
      }[];
      return row?.delivered_at != null && Number(row.attempts) === 1;
    });
  });

  it('refuses a wrong signature, a stale timestamp and a missing signature with 401', async () => {
    const body = JSON.stringify({ type: 'connection.established', timestamp: new Date().toISOString(), data: {} });
    const sign = (id: string, timestamp: number, secret = SECRET) =>
      `v1,${createHmac('sha256', Buffer.from(secret.slice(6), 'base64'))
        .update(`${id}.${timestamp}.${body}`)
        .digest('base64')}`;
    const post = (headers: Record<string, string>) =>
      fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body }).then((response) => response.status);
    const now = Math.floor(Date.now() / 1000);
    expect(await post({ 'webhook-id': 'msg_a', 'webhook-timestamp': String(now), 'webhook-signature': sign('msg_a', now) })).toBe(204);
    expect(
      await post({ 'webhook-id': 'msg_a', 'webhook-timestamp': String(now), 'webhook-signature': `v1,abc ${sign('msg_a', now)}` }),
    ).toBe(204);
    expect(
      await post({
        'webhook-id': 'msg_a',
        'webhook-timestamp': String(now),
        'webhook-signature': sign('msg_a', now, `whsec_${randomBytes(32).toString('base64')}`),
      }),
    ).toBe(401);
    expect(await post({ 'webhook-id': 'msg_b', 'webhook-timestamp': String(now), 'webhook-signature': sign('msg_a', now) })).toBe(401);
    expect(
      await post({ 'webhook-id': 'msg_a', 'webhook-timestamp': String(now - 600), 'webhook-signature': sign('msg_a', now - 600) }),
    ).toBe(401);
    expect(await post({ 'webhook-id': 'msg_a', 'webhook-timestamp': String(now) })).toBe(401);
    expect(await post({ 'webhook-id': 'msg_a', 'webhook-timestamp': 'soon', 'webhook-signature': sign('msg_a', Number.NaN) })).toBe(401);
  });
});
