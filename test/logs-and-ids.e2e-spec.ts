import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import type { TestApp } from './support/app.js';
import { captureOutput } from './support/capture-output.js';
import { startBffFor } from './support/own-form.js';

/**
 * What the request log and the answers say about who made a request: the request id is always ours
 * (a client cannot choose the id our logs, audit rows and problem answers carry), the client's own
 * X-Request-Id is logged beside it only as a bounded, sanitised `clientRequestId`, and our problem
 * codes stay readable in logs while secrets named `code` are censored.
 */
describe('request ids and log lines', () => {
  let emulator: RunningEmulator;
  let t: TestApp;
  let output: ReturnType<typeof captureOutput>;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    output = captureOutput();
    t = await startBffFor(emulator, 'sqlite', { LOG_LEVEL: 'info' }, { quiet: false });
  });
  afterAll(async () => {
    try {
      await t?.close();
    } finally {
      output?.restore();
    }
    await emulator?.close();
  });

  /** The JSON log lines written so far that satisfy `match`. */
  const logLines = (match: (line: Record<string, unknown>) => boolean): Record<string, unknown>[] =>
    output.lines
      .flatMap((chunk) => chunk.split('\n'))
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter(match);

  const waitForLog = async (match: (line: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> => {
    for (let i = 0; i < 50; i += 1) {
      const [line] = logLines(match);
      if (line) return line;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    throw new Error('no such log line');
  };

  it('never uses a client-sent X-Request-Id as its own; logs it only as clientRequestId', async () => {
    const clientId = 'trace-abc-12345';
    const res = await request(t.url).get('/v1/no-such-route').set('x-request-id', clientId);
    expect(res.status).toBe(404);
    const ours = res.headers['x-request-id'] as string;
    expect(ours).toMatch(UUID);
    expect(res.body.requestId).toBe(ours);
    const line = await waitForLog((l) => l.requestId === ours);
    expect(line).toMatchObject({ requestId: ours, clientRequestId: clientId, msg: 'request completed' });
    expect(JSON.stringify(line)).not.toContain(`"requestId":"${clientId}"`);
  });

  it('two requests with the same client id still get two ids of ours', async () => {
    const [a, b] = await Promise.all([0, 1].map(() => request(t.url).get('/health/live').set('x-request-id', 'same-id-00000001')));
    expect(a!.headers['x-request-id']).not.toBe(b!.headers['x-request-id']);
  });

  it('bounds and sanitises the client value before logging it', async () => {
    const hostile = `"}{"level":60,"msg":"forged" ${'x'.repeat(500)}`;
    const res = await request(t.url).get('/v1/no-such-route').set('x-request-id', hostile);
    const line = await waitForLog((l) => l.requestId === res.headers['x-request-id']);
    const logged = line.clientRequestId as string;
    expect(logged.length).toBe(128);
    expect(logged).toMatch(/^[A-Za-z0-9._:-]+$/);
    expect(logged.startsWith('__')).toBe(true);
  });

  it('keeps our problem code in the log while censoring the OIDC code parameter', async () => {
    // A real login transaction, then a callback with its state and a code Mydex never issued.
    const agent = request.agent(t.url);
    const started = await agent.post('/v1/auth/oidc/authorize').send({ intent: 'login' });
    expect(started.status).toBe(200);
    const authorization = new URL(started.body.authorizationUrl as string);
    const secret = 'Zk3q9xQeVa1b2c3SECRETCODE';
    const query = new URLSearchParams({ code: secret, state: authorization.searchParams.get('state') ?? '', iss: emulator.issuer });
    const res = await agent.get(`/v1/auth/oidc/callback?${query}`);
    expect(res.status).toBe(303);
    const refused = await waitForLog((l) => l.msg === 'OIDC callback refused');
    expect(refused.code).toBe('token_exchange_failed');
    const requestLine = await waitForLog((l) => l.requestId === res.headers['x-request-id']);
    expect((requestLine.req as { url: string }).url).toMatch(/^\/v1\/auth\/oidc\/callback\?code=\[redacted\]&state=\[redacted\]&iss=/);
    expect(output.lines.join('')).not.toContain(secret);
  });
});
