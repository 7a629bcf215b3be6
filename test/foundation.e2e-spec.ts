import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

/** Any POST route that takes JSON: the validation endpoint. */
const JSON_ROUTE = '/v1/validation/registration';

describe('HTTP foundation: problem+json for every error, request ids', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  const expectProblem = (res: request.Response, status: number, code: string) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body).toMatchObject({
      status,
      code,
      type: expect.stringContaining(code),
      title: expect.any(String),
      detail: expect.any(String),
    });
    expect(res.body.requestId).toBe(res.headers['x-request-id']);
  };

  it('answers an unknown route with 404 not_found', async () => {
    const res = await request(t.url).get('/v1/does-not-exist');
    expectProblem(res, 404, 'not_found');
  });

  it('answers a known path with the wrong method with 405 and Allow', async () => {
    const res = await request(t.url).delete('/health/live');
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET, HEAD');
  });

  it('answers malformed JSON with 400 malformed_json', async () => {
    const res = await request(t.url).post('/health/live').set('content-type', 'application/json').send('{"a":');
    expectProblem(res, 400, 'malformed_json');
  });

  it('answers a text/plain body with 415 unsupported_media_type', async () => {
    const res = await request(t.url).post(JSON_ROUTE).set('content-type', 'text/plain').send('hello');
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('answers a 2 MB body with 413 payload_too_large', async () => {
    const body = JSON.stringify({ blob: 'x'.repeat(2 * 1024 * 1024) });
    const res = await request(t.url).post('/health/live').set('content-type', 'application/json').send(body);
    expectProblem(res, 413, 'payload_too_large');
  });

  it('answers its own request id whatever X-Request-Id the client sends (test/logs-and-ids.e2e-spec.ts: the client value in logs)', async () => {
    const wellFormed = await request(t.url).get('/health/live').set('x-request-id', 'trace-abc-12345');
    expect(wellFormed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const malformed = await request(t.url).get('/health/live').set('x-request-id', 'bad id\twith spaces');
    expect(malformed.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('is ready when the database answers', async () => {
    const res = await request(t.url).get('/health/ready');
    expect(res.status).toBe(200);
    expect(res.body.info.database.status).toBe('up');
  });

  it('serves the OpenAPI document as YAML and the Swagger UI', async () => {
    const yaml = await request(t.url).get('/openapi.yaml');
    expect(yaml.status).toBe(200);
    expect(yaml.text).toContain('/health/ready');
    const docs = await request(t.url).get('/docs');
    expect(docs.status).toBe(200);
  });
});
