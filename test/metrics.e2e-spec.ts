import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

describe('GET /metrics', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('counts requests by route pattern and status', async () => {
    await request(t.url).get('/health/live');
    await request(t.url).get('/no/such/route');
    const res = await request(t.url).get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    expect(res.text).toMatch(/bff_http_request_duration_seconds_count\{method="GET",route="\/health\/live",status="200"\} 1/);
    expect(res.text).toMatch(/bff_http_request_duration_seconds_count\{method="GET",route="unmatched",status="404"\} 1/);
    expect(res.text).toContain('bff_process_resident_memory_bytes');
  });
});
