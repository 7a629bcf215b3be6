import { Logger, type LoggerService } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ProblemException } from '../src/common/problem/problem.exception.js';
import { MydexClient } from '../src/mydex/mydex.client.js';
import { MydexOidcProvider } from '../src/mydex/mydex-oidc-provider.js';
import { MetricsService } from '../src/metrics/metrics.service.js';

/**
 * MydexClient over real HTTP against a scripted Mydex: a node:http server whose answers each test sets,
 * so every documented (and inferred) answer shape is exercised, including those the emulator never
 * sends (plain-string errors, 5xx with Retry-After, garbage, dropped connections).
 * The end-to-end path against the emulator is in own-form-registration.e2e-spec.ts.
 */

const CONNECTION_TOKEN = 'scripted-connection-token-4f9a';
const CLIENT_SECRET = 'scripted-client-secret-77c1';
const PASSWORD = 'Pa55word-never-logged-91';
const sha512 = (value: string) => createHash('sha512').update(value).digest('hex');

interface Seen {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: string;
}

type Handler = (req: Seen, res: ServerResponse) => void;

let server: Server;
let base: string;
let seen: Seen[] = [];
let routes: Record<string, Handler> = {};
let tokenCount = 0;
let shortCount = 0;
const logs: string[] = [];

const capture: LoggerService = {
  log: (message: unknown) => logs.push(String(message)),
  error: (message: unknown) => logs.push(String(message)),
  warn: (message: unknown) => logs.push(String(message)),
  debug: (message: unknown) => logs.push(String(message)),
  verbose: (message: unknown) => logs.push(String(message)),
};

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
};

/** The happy defaults: discovery, a token, short tokens, and a Private Key form URL. */
function defaultRoutes(): Record<string, Handler> {
  return {
    'GET /.well-known/openid-configuration': (_req, res) => json(res, 200, { issuer: base, token_endpoint: `${base}/custom/token` }),
    'POST /custom/token': (_req, res) => {
      tokenCount += 1;
      json(res, 200, { access_token: `bearer-${tokenCount}`, token_type: 'bearer', expires_in: 3600, scope: 'mydex:pdx' });
    },
    'GET /access-token/45678': (_req, res) => {
      shortCount += 1;
      json(res, 200, `short-${shortCount}`);
    },
    'POST /api/pds': (_req, res) => json(res, 200, `${base}/private-key/form-1`),
    'POST /api/connection': (_req, res) => json(res, 200, { url: `${base}/dssa/1` }),
    'POST /api/connection/update': (_req, res) => json(res, 200, `${base}/dssa/2`),
  };
}

/** The real metrics service (its Fastify hook is not needed here): upstream calls are counted in it. */
const metrics = new MetricsService(new HttpAdapterHost());

function client(overrides: Partial<{ timeoutMs: number; clientSecret: string; pdxUrl: string; tokenUrl: string }> = {}): MydexClient {
  const settings = {
    emulated: false,
    emulatorPort: 0,
    issuer: base,
    clientId: 'scripted-client',
    clientSecret: overrides.clientSecret ?? CLIENT_SECRET,
    scopes: 'openid mydexid',
    pdxUrl: overrides.pdxUrl ?? base,
    connectionNid: '45678',
    connectionToken: CONNECTION_TOKEN,
    callbackUrl: 'http://127.0.0.1:1/v1/connections/callback',
    timeoutMs: overrides.timeoutMs ?? 2000,
  } as unknown as ConstructorParameters<typeof MydexClient>[0];
  // The one discovery client, as MydexModule provides it (MYDEX_TOKEN_URL is its tokenEndpoint override).
  const oidc = {
    timeoutMs: settings.timeoutMs,
    callbackUrl: 'http://127.0.0.1:1/v1/auth/oidc/callback',
    overrides: { tokenEndpoint: overrides.tokenUrl },
  };
  return new MydexClient(
    settings,
    metrics,
    new MydexOidcProvider(settings, oidc as ConstructorParameters<typeof MydexOidcProvider>[1], metrics),
  );
}

const member = {
  mydexid: 'alice2024',
  email: 'alice@example.org',
  password: PASSWORD,
  returnTo: 'https://bff.example/v1/registrations/r1/return',
};

async function problemOf(promise: Promise<unknown>): Promise<ProblemException> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ProblemException) return error;
    throw error;
  }
  throw new Error('expected a ProblemException');
}

const count = (key: string) => seen.filter((s) => `${s.method} ${s.path}` === key).length;

beforeAll(async () => {
  Logger.overrideLogger(capture);
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const entry: Seen = {
        method: req.method ?? '',
        path: (req.url ?? '').split('?')[0] ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(entry);
      const handler = routes[`${entry.method} ${entry.path}`];
      if (handler) handler(entry, res);
      else json(res, 404, { error: { message: 'Not found' } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  Logger.overrideLogger(false);
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  seen = [];
  routes = defaultRoutes();
  tokenCount = 0;
  shortCount = 0;
});

afterEach(() => {
  // No captured line may ever hold the password, a token or a secret.
  for (const line of logs) {
    expect(line).not.toContain(PASSWORD);
    expect(line).not.toContain(CONNECTION_TOKEN);
    expect(line).not.toContain(CLIENT_SECRET);
    expect(line).not.toMatch(/bearer-\d|short-\d/);
  }
});

describe('MydexClient against a scripted Mydex over real HTTP', () => {
  it('sends exactly the token request, the short-token request and the /api/pds request Mydex documents', async () => {
    const answer = await client().registerMember(member);
    expect(answer).toEqual({ privateKeyUrl: `${base}/private-key/form-1` });

    const [discovery, token, short, pds] = seen;
    expect(discovery?.path).toBe('/.well-known/openid-configuration');
    expect(token?.method).toBe('POST');
    expect(token?.path).toBe('/custom/token');
    expect(token?.headers.authorization).toBe(`Basic ${Buffer.from(`scripted-client:${CLIENT_SECRET}`).toString('base64')}`);
    expect(token?.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(Object.fromEntries(new URLSearchParams(token?.body))).toEqual({ grant_type: 'client_credentials', scope: 'mydex:pdx' });

    expect(short?.method).toBe('GET');
    expect(short?.path).toBe('/access-token/45678');
    expect(short?.headers.authorization).toBe('Bearer bearer-1');

    expect(pds?.method).toBe('POST');
    expect(pds?.headers.authorization).toBe('Bearer bearer-1');
    expect(pds?.headers['short-access-token']).toBe('short-1');
    expect(pds?.headers.authentication).toBe(sha512(`short-1${CONNECTION_TOKEN}`));
    expect(pds?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(pds?.body ?? '')).toEqual({
      mydexid: 'alice2024',
      email: 'alice@example.org',
      password: PASSWORD,
      connection_nid: '45678',
      connection_token_hash: sha512(CONNECTION_TOKEN),
      return_to: member.returnTo,
    });
  });

  it('records every upstream call by endpoint and outcome in the metrics', async () => {
    const before = await metrics.registry.getSingleMetricAsString('bff_upstream_request_duration_seconds');
    const count = (text: string, labels: string) => Number(new RegExp(`_count\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
    await client().registerMember(member);
    const after = await metrics.registry.getSingleMetricAsString('bff_upstream_request_duration_seconds');
    expect(count(after, 'endpoint="POST /api/pds",outcome="ok"')).toBe(count(before, 'endpoint="POST /api/pds",outcome="ok"') + 1);
    expect(count(after, 'endpoint="GET /access-token/45678",outcome="ok"')).toBe(
      count(before, 'endpoint="GET /access-token/45678",outcome="ok"') + 1,
    );
  });

  it('uses {issuer}/oauth2/token when discovery is not served', async () => {
    delete routes['GET /.well-known/openid-configuration'];
    routes['POST /oauth2/token'] = routes['POST /custom/token']!;
    await client().registerMember(member);
    expect(count('POST /oauth2/token')).toBe(1);
  });

  it('asks for the token at MYDEX_TOKEN_URL when it is configured, not at the discovered endpoint', async () => {
    routes['POST /configured/token'] = routes['POST /custom/token']!;
    await client({ tokenUrl: `${base}/configured/token` }).registerMember(member);
    expect(count('POST /configured/token')).toBe(1);
    expect(count('POST /custom/token')).toBe(0);
  });

  it('does not use a discovery document that names another issuer: its token endpoint is never called', async () => {
    routes['GET /.well-known/openid-configuration'] = (_req, res) =>
      json(res, 200, { issuer: 'https://elsewhere.example', token_endpoint: `${base}/custom/token` });
    routes['POST /oauth2/token'] = routes['POST /custom/token']!;
    await client().registerMember(member);
    expect(count('GET /.well-known/openid-configuration')).toBe(1);
    expect(count('POST /custom/token')).toBe(0);
    expect(count('POST /oauth2/token')).toBe(1);
  });

  it('asks for one token for many calls, even concurrent ones, and a fresh short token for every call', async () => {
    const mydex = client();
    await Promise.all([mydex.registerMember(member), mydex.registerMember(member), mydex.registerMember(member)]);
    await mydex.registerMember(member);
    expect(count('POST /custom/token')).toBe(1);
    expect(count('GET /access-token/45678')).toBe(4);
    const shortTokens = seen.filter((s) => s.path === '/api/pds').map((s) => s.headers['short-access-token']);
    expect(new Set(shortTokens).size).toBe(4);
  });

  it('renews the token shortly before expires_in runs out', async () => {
    routes['POST /custom/token'] = (_req, res) => {
      tokenCount += 1;
      json(res, 200, { access_token: `bearer-${tokenCount}`, expires_in: 1 });
    };
    const mydex = client();
    await mydex.registerMember(member);
    await mydex.registerMember(member);
    expect(count('POST /custom/token')).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 950));
    await mydex.registerMember(member);
    expect(count('POST /custom/token')).toBe(2);
    expect(seen.filter((s) => s.path === '/api/pds').at(-1)?.headers.authorization).toBe('Bearer bearer-2');
  });

  it('maps "Mydexid already in use." in {error:{message}} to 409 mydexid_taken on the mydexid field', async () => {
    routes['POST /api/pds'] = (_req, res) => json(res, 400, { error: { message: 'Mydexid already in use.' } });
    const problem = await problemOf(client().registerMember(member));
    expect(problem.code).toBe('mydexid_taken');
    expect(problem.status).toBe(409);
    expect(problem.options.errors).toEqual([{ field: 'mydexid', code: 'mydexid_taken', message: expect.any(String) }]);
  });

  it('maps "Email already in use." as {success:0,message} and as a plain string to 409 email_taken', async () => {
    routes['POST /api/pds'] = (_req, res) => json(res, 400, { success: 0, message: 'Email already in use.' });
    const first = await problemOf(client().registerMember(member));
    expect(first.code).toBe('email_taken');
    expect(first.options.errors).toEqual([{ field: 'email', code: 'email_taken', message: expect.any(String) }]);

    routes['POST /api/pds'] = (_req, res) => json(res, 409, 'Email already in use.');
    const second = await problemOf(client().registerMember(member));
    expect(second.code).toBe('email_taken');
    expect(second.status).toBe(409);
  });

  it('treats a 2xx that says success 0 as the refusal it is', async () => {
    routes['POST /api/pds'] = (_req, res) => json(res, 200, { success: 0, message: 'Mydexid already in use.' });
    expect((await problemOf(client().registerMember(member))).code).toBe('mydexid_taken');
  });

  it("maps any other 400 to 422 mydex_rejected carrying Mydex's message, without an echoed password", async () => {
    routes['POST /api/pds'] = (_req, res) => json(res, 400, { success: 0, message: `Password ${PASSWORD} is not allowed.` });
    const problem = await problemOf(client().registerMember(member));
    expect(problem.code).toBe('mydex_rejected');
    expect(problem.status).toBe(422);
    expect(problem.detail).toContain('Password [redacted] is not allowed.');
    expect(problem.detail).not.toContain(PASSWORD);
  });

  it('maps a 401 to 502 upstream_auth_failed, tells the operator which settings to check, and drops the cached token', async () => {
    logs.length = 0;
    routes['POST /api/pds'] = (_req, res) => json(res, 401, { error: { message: 'Invalid Authentication header', reason: 'hash' } });
    const mydex = client();
    const problem = await problemOf(mydex.registerMember(member));
    expect(problem.code).toBe('upstream_auth_failed');
    expect(problem.status).toBe(502);
    const line = logs.find((entry) => entry.includes('refused our credentials'));
    expect(line).toContain('MYDEX_CLIENT_ID');
    expect(line).toContain('MYDEX_CLIENT_SECRET');
    expect(line).toContain('MYDEX_CONNECTION_TOKEN');

    routes['POST /api/pds'] = defaultRoutes()['POST /api/pds']!;
    await mydex.registerMember(member);
    expect(count('POST /custom/token')).toBe(2);
  });

  it('maps a token endpoint refusal (wrong client secret) to 502 upstream_auth_failed', async () => {
    routes['POST /custom/token'] = (_req, res) =>
      json(res, 401, { error: 'invalid_client', error_description: 'client authentication failed' });
    logs.length = 0;
    const problem = await problemOf(client({ clientSecret: 'wrong' }).registerMember(member));
    expect(problem.code).toBe('upstream_auth_failed');
    expect(logs.some((entry) => entry.includes('invalid_client') && entry.includes('MYDEX_CLIENT_SECRET'))).toBe(true);
    expect(count('POST /api/pds')).toBe(0);
  });

  it("maps a 5xx to 503 upstream_unavailable with Retry-After, passing Mydex's own value on", async () => {
    routes['POST /api/pds'] = (_req, res) => json(res, 500, { error: { message: 'boom' } });
    const plain = await problemOf(client().registerMember(member));
    expect(plain.code).toBe('upstream_unavailable');
    expect(plain.status).toBe(503);
    expect(plain.options.headers?.['retry-after']).toMatch(/^\d+$/);

    routes['POST /api/pds'] = (_req, res) => json(res, 503, 'maintenance', { 'retry-after': '30' });
    const told = await problemOf(client().registerMember(member));
    expect(told.options.headers?.['retry-after']).toBe('30');
  });

  it('maps an unparseable answer to 502 upstream_bad_response', async () => {
    routes['POST /api/pds'] = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>gateway</html>');
    };
    expect((await problemOf(client().registerMember(member))).code).toBe('upstream_bad_response');

    routes['POST /api/pds'] = (_req, res) => json(res, 200, 'javascript:alert(1)');
    expect((await problemOf(client().registerMember(member))).code).toBe('upstream_bad_response');

    routes['GET /access-token/45678'] = (_req, res) => json(res, 200, { nope: true });
    expect((await problemOf(client().registerMember(member))).code).toBe('upstream_bad_response');
  });

  it('maps a Mydex slower than MYDEX_TIMEOUT_MS to 504 upstream_timeout, without retrying', async () => {
    routes['POST /api/pds'] = (_req, res) => {
      setTimeout(() => json(res, 200, `${base}/late`), 600);
    };
    const started = Date.now();
    const problem = await problemOf(client({ timeoutMs: 200 }).registerMember(member));
    expect(problem.code).toBe('upstream_timeout');
    expect(problem.status).toBe(504);
    expect(Date.now() - started).toBeLessThan(1500);
    expect(count('POST /api/pds')).toBe(1);
  });

  it('retries the short-token GET once after a dropped connection, but never the /api/pds POST', async () => {
    let drops = 1;
    routes['GET /access-token/45678'] = (req, res) => {
      if (drops-- > 0) {
        res.socket?.destroy();
        return;
      }
      defaultRoutes()['GET /access-token/45678']!(req, res);
    };
    await client().registerMember(member);
    expect(count('GET /access-token/45678')).toBe(2);

    routes['POST /api/pds'] = (_req, res) => res.socket?.destroy();
    const problem = await problemOf(client().registerMember(member));
    expect(problem.code).toBe('upstream_unavailable');
    expect(problem.options.headers?.['retry-after']).toMatch(/^\d+$/);
    expect(count('POST /api/pds')).toBe(2); // one from the first call, one from this one: no retry
  });

  it('maps a refused connection to 503 upstream_unavailable', async () => {
    const problem = await problemOf(client({ pdxUrl: 'http://127.0.0.1:9' }).registerMember(member));
    expect(problem.code).toBe('upstream_unavailable');
    expect(problem.status).toBe(503);
  });

  it('starts a First Time Connection, and an update with version, with the same headers', async () => {
    const mydex = client();
    expect(await mydex.startConnection({ mydexid: 'alice2024', returnTo: 'https://bff.example/v1/connections/return' })).toEqual({
      url: `${base}/dssa/1`,
    });
    expect(
      await mydex.startConnection({ mydexid: 'alice2024', returnTo: 'https://bff.example/v1/connections/return', version: 2 }),
    ).toEqual({ url: `${base}/dssa/2` });
    const first = seen.find((s) => s.path === '/api/connection');
    const update = seen.find((s) => s.path === '/api/connection/update');
    expect(JSON.parse(first?.body ?? '')).toEqual({
      mydexid: 'alice2024',
      connection_nid: '45678',
      connection_token_hash: sha512(CONNECTION_TOKEN),
      return_to: 'https://bff.example/v1/connections/return',
    });
    expect(JSON.parse(update?.body ?? '')).toMatchObject({ version: '2' });
    expect(update?.headers.authentication).toBe(sha512(`${String(update?.headers['short-access-token'])}${CONNECTION_TOKEN}`));
  });

  it('maps a refused connection start to 422 mydex_rejected, never to a taken field', async () => {
    routes['POST /api/connection'] = (_req, res) => json(res, 400, { success: 0, message: 'Unknown member.' });
    const problem = await problemOf(client().startConnection({ mydexid: 'nobody', returnTo: 'https://bff.example/r' }));
    expect(problem.code).toBe('mydex_rejected');
    expect(problem.detail).toContain('Unknown member.');
  });
});
