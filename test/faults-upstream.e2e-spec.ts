import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newMember, registerThroughLaca } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { LOCAL_EMULATOR } from '../src/config/environment.js';
import { startTestApp, type TestApp } from './support/app.js';
import { registerWebMember, startBffStack, type BffStack } from './support/bff-stack.js';
import { atCallback, FRONTEND_ORIGIN, NATIVE_REDIRECT_URI, startWebFlow } from './support/oidc-browser.js';
import { freePort } from '../emulator/testing/free-port.js';

/**
 * Mydex (the emulator) slow or down as the upstream. The own-form suite covers POST /v1/registrations;
 * here: starting a connection, the OIDC authorize (POST for the frontend, GET for a browser) and the
 * OIDC callback. Each answers clean problem+json or an error redirect to the frontend, never a 500.
 */

const TIMEOUT_MS = 500;
const RETURN_TO = `${FRONTEND_ORIGIN}/back`;

async function expectProblem(response: Response, status: number, code: string): Promise<void> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect((JSON.parse(text) as { code: string }).code).toBe(code);
  expect(text).not.toMatch(/ECONN|fetch failed|\bat \S+ \(|node_modules/);
}

/** A browser navigation's answer: an error redirect to the frontend, or problem+json; never a 5xx page. */
async function expectCleanRefusal(response: Response): Promise<string> {
  if (response.status >= 300 && response.status < 400) {
    const location = new URL(response.headers.get('location')!);
    expect(location.origin).toBe(FRONTEND_ORIGIN);
    const error = location.searchParams.get('error');
    expect(error).toMatch(/^[a-z_]+$/);
    return error!;
  }
  expect(response.status).not.toBe(500);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  return ((await response.json()) as { code: string }).code;
}

const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

describe('the emulator slow, then down, under a running BFF', () => {
  let stack: BffStack;
  let cookie: string;
  beforeAll(async () => {
    stack = await startBffStack({ env: { MYDEX_TIMEOUT_MS: String(TIMEOUT_MS) } });
    ({ cookie } = await registerWebMember(stack.a.url));
  });
  afterAll(async () => stack?.close());

  const startConnection = () => postJson(`${stack.a.url}/v1/connections`, {}, { cookie: `bff_session=${cookie}`, 'x-csrf': '1' });

  it('answers 504 upstream_timeout to a connection start when the PDX API is slower than MYDEX_TIMEOUT_MS', async () => {
    stack.emulator.setFaults({ pdxDelayMs: TIMEOUT_MS * 4 });
    try {
      const began = Date.now();
      await expectProblem(await startConnection(), 504, 'upstream_timeout');
      expect(Date.now() - began).toBeLessThan(TIMEOUT_MS * 4);
    } finally {
      stack.emulator.setFaults({});
    }
    expect((await startConnection()).status).toBe(200);
  });

  it('answers 503 to a connection start and an error redirect to the OIDC callback once the emulator is down', async () => {
    // A login that reached Mydex's redirect back just before Mydex went away.
    const browser = new ScriptedBrowser();
    const { authorizationUrl } = await startWebFlow(browser, stack.a.url, { intent: 'register', returnTo: RETURN_TO });
    const atCallbackPage = await registerThroughLaca(browser, authorizationUrl, newMember('down'), { stopAt: atCallback });

    await stack.emulator.close();

    const start = await startConnection();
    expect(Number(start.headers.get('retry-after'))).toBeGreaterThan(0);
    await expectProblem(start, 503, 'upstream_unavailable');

    const callback = await browser.request(atCallbackPage.url);
    expect(await expectCleanRefusal(callback)).not.toBe('callback_failed');
    expect(browser.jar.get('bff_session', stack.a.url)).toBeUndefined();

    // Discovery is cached, so authorize still answers (the browser then meets Mydex's own outage).
    const authorize = await postJson(`${stack.a.url}/v1/auth/oidc/authorize`, { intent: 'login', returnTo: RETURN_TO });
    expect(authorize.status).toBe(200);
    const member = newMember('own');
    await expectProblem(
      await postJson(`${stack.a.url}/v1/registrations`, { mydexid: member.mydexid, email: member.email, password: member.password }),
      503,
      'upstream_unavailable',
    );
  });
});

describe('OIDC authorize when Mydex cannot be reached at all (discovery never succeeded)', () => {
  let down: TestApp;
  let slow: TestApp;
  let blackhole: Server;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    // Nothing listens on this port: connections are refused.
    const closedPort = await freePort();
    // This one accepts connections and never answers.
    blackhole = createServer((socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const slowPort = (blackhole.address() as { port: number }).port;
    const env = (issuer: string) => ({
      MYDEX_ISSUER: issuer,
      MYDEX_PDX_URL: issuer,
      MYDEX_CLIENT_ID: LOCAL_EMULATOR.clientId,
      FRONTEND_ORIGINS: FRONTEND_ORIGIN,
      NATIVE_REDIRECT_URIS: NATIVE_REDIRECT_URI,
      MYDEX_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    down = await startTestApp(env(`http://127.0.0.1:${closedPort}`));
    slow = await startTestApp(env(`http://127.0.0.1:${slowPort}`));
  });
  afterAll(async () => {
    await down?.close();
    await slow?.close();
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => blackhole?.close(resolve));
  });

  for (const [name, app] of [
    ['refused', () => down],
    ['silent', () => slow],
  ] as const) {
    it(`answers POST /v1/auth/oidc/authorize with 503 upstream_unavailable when Mydex is ${name}`, async () => {
      const began = Date.now();
      await expectProblem(
        await postJson(`${app().url}/v1/auth/oidc/authorize`, { intent: 'register', returnTo: RETURN_TO }),
        503,
        'upstream_unavailable',
      );
      await expectProblem(
        await postJson(`${app().url}/v1/auth/oidc/authorize`, { intent: 'login', client: 'native', appRedirectUri: NATIVE_REDIRECT_URI }),
        503,
        'upstream_unavailable',
      );
      expect(Date.now() - began).toBeLessThan(TIMEOUT_MS * 2 + 2000);
    });

    it(`answers a browser's GET /v1/auth/oidc/authorize with 503 problem+json when Mydex is ${name}`, async () => {
      const query = new URLSearchParams({ intent: 'login', returnTo: RETURN_TO });
      await expectProblem(await fetch(`${app().url}/v1/auth/oidc/authorize?${query}`, { redirect: 'manual' }), 503, 'upstream_unavailable');
    });
  }

  it('answers an own-form registration with 503 upstream_unavailable, not 500', async () => {
    const member = newMember('nomydex');
    await expectProblem(
      await postJson(`${down.url}/v1/registrations`, { mydexid: member.mydexid, email: member.email, password: member.password }),
      503,
      'upstream_unavailable',
    );
  });

  it('keeps serving what needs no Mydex (validation, readiness) while Mydex is unreachable', async () => {
    expect((await fetch(`${down.url}/health/ready`)).status).toBe(200);
    expect(
      (await postJson(`${down.url}/v1/validation/registration`, { mydexid: 'abc123', email: 'a@example.org', password: 'long enough pw' }))
        .status,
    ).toBe(200);
  });
});
