import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricsListener } from '../src/metrics/metrics-listener.js';
import { startTestApp, type TestApp } from './support/app.js';

/**
 * What a production BFF exposes besides its API (docs/security.md, "Production surface"): /metrics
 * only with METRICS_TOKEN or on the separate METRICS_PORT listener, the API docs only with
 * API_DOCS=on. Development and test keep both public (test/metrics.e2e-spec.ts, test/foundation).
 */

/** A complete production configuration. Nothing here is contacted: no test calls Mydex. */
const PRODUCTION = {
  NODE_ENV: 'production',
  PUBLIC_BASE_URL: 'https://bff.example.test',
  FRONTEND_ORIGINS: 'https://app.example.test',
  MYDEX_ISSUER: 'https://op.example.test',
  MYDEX_PDX_URL: 'https://api.example.test',
  MYDEX_CLIENT_ID: 'bff-client',
  MYDEX_CLIENT_SECRET: randomBytes(16).toString('hex'),
  MYDEX_CONNECTION_NID: '45678',
  MYDEX_CONNECTION_TOKEN: randomBytes(16).toString('hex'),
  DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
} as const;

const expectNotFound = (res: request.Response) => {
  expect(res.status).toBe(404);
  expect(res.headers['content-type']).toContain('application/problem+json');
  expect(res.body.code).toBe('not_found');
  expect(res.text).not.toContain('bff_http_request_duration_seconds');
};

const portIsClosed = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });

describe('production without METRICS_TOKEN, METRICS_PORT or API_DOCS', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp(PRODUCTION);
  });
  afterAll(async () => t?.close());

  it('has no /metrics: 404 problem+json, as for any unknown route', async () => {
    expectNotFound(await request(t.url).get('/metrics'));
    expectNotFound(await request(t.url).get('/metrics').set('authorization', 'Bearer anything-at-all-123'));
  });

  it('has no API docs: /docs, /openapi.json and /openapi.yaml answer 404 problem+json', async () => {
    for (const path of ['/docs', '/docs/', '/openapi.json', '/openapi.yaml', '/docs/openapi.yaml']) {
      const res = await request(t.url).get(path);
      expect(res.status, path).toBe(404);
      expect(res.headers['content-type'], path).toContain('application/problem+json');
      expect(res.body.code, path).toBe('not_found');
      expect(res.text, path).not.toMatch(/"openapi":|openapi: |swagger/i);
    }
  });

  it('still serves the API and health', async () => {
    expect((await request(t.url).get('/health/live')).status).toBe(200);
    expect((await request(t.url).get('/v1/validation/rules')).status).toBe(200);
  });
});

describe('production with METRICS_TOKEN', () => {
  let t: TestApp;
  const token = randomBytes(24).toString('hex');
  beforeAll(async () => {
    t = await startTestApp({ ...PRODUCTION, METRICS_TOKEN: token });
  });
  afterAll(async () => t?.close());

  it('serves /metrics for the bearer token', async () => {
    const res = await request(t.url).get('/metrics').set('authorization', `Bearer ${token}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('bff_http_request_duration_seconds');
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('refuses a missing, wrong, truncated or differently-schemed token with 401 problem+json', async () => {
    for (const authorization of [
      undefined,
      `Bearer ${token}x`,
      `Bearer ${token.slice(0, -1)}`,
      `Basic ${token}`,
      token,
      'Bearer ',
      `Bearer ${token.toUpperCase()}`,
    ]) {
      const req = request(t.url).get('/metrics');
      const res = await (authorization === undefined ? req : req.set('authorization', authorization));
      expect(res.status, String(authorization)).toBe(401);
      expect(res.body.code).toBe('unauthorized');
      expect(res.headers['www-authenticate']).toBe('Bearer realm="metrics"');
      expect(res.text).not.toContain('bff_');
      expect(res.text).not.toContain(token);
    }
  });
});

describe('production with METRICS_PORT', () => {
  let t: TestApp;
  let metricsPort: number;
  beforeAll(async () => {
    t = await startTestApp({ ...PRODUCTION, METRICS_PORT: '0', API_DOCS: 'on' });
    metricsPort = t.app.get(MetricsListener).address()!.port;
  });
  afterAll(async () => t?.close());

  it('serves /metrics without a token on the separate listener, bound to 127.0.0.1 by default', async () => {
    expect(t.app.get(MetricsListener).address()?.address).toBe('127.0.0.1');
    await request(t.url).get('/health/live');
    const res = await request(`http://127.0.0.1:${metricsPort}`).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/bff_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} 1/);
  });

  it('answers only GET /metrics there: other paths 404, other methods 405, as problem+json', async () => {
    const other = await request(`http://127.0.0.1:${metricsPort}`).get('/v1/validation/rules');
    expect(other.status).toBe(404);
    expect(other.body.code).toBe('not_found');
    const post = await request(`http://127.0.0.1:${metricsPort}`).post('/metrics');
    expect(post.status).toBe(405);
    expect(post.headers.allow).toBe('GET, HEAD');
  });

  it('keeps /metrics off the main port', async () => {
    expectNotFound(await request(t.url).get('/metrics'));
  });

  it('serves the API docs with API_DOCS=on', async () => {
    expect((await request(t.url).get('/openapi.json')).status).toBe(200);
    expect((await request(t.url).get('/openapi.yaml')).status).toBe(200);
    expect((await request(t.url).get('/docs/')).status).toBe(200);
  });

  it('closes the listener with the app', async () => {
    const other = await startTestApp({ ...PRODUCTION, METRICS_PORT: '0' });
    const port = other.app.get(MetricsListener).address()!.port;
    expect(await portIsClosed(port)).toBe(false);
    // A scraper's open keep-alive connection does not hold the close up.
    const agent = await fetch(`http://127.0.0.1:${port}/metrics`, { keepalive: true });
    expect(agent.status).toBe(200);
    await other.close();
    expect(await portIsClosed(port)).toBe(true);
  });
});

describe('development and test keep /metrics and the API docs public', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ NODE_ENV: 'development' });
  });
  afterAll(async () => t?.close());

  it('serves /metrics and /openapi.json without a token', async () => {
    expect((await request(t.url).get('/metrics')).status).toBe(200);
    expect((await request(t.url).get('/openapi.json')).status).toBe(200);
  });
});
