import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

describe('CORS and security headers', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ FRONTEND_ORIGINS: 'https://app.example.org,http://localhost:5173' });
  });
  afterAll(async () => t?.close());

  it('allows exactly the configured origins, with credentials', async () => {
    const res = await request(t.url)
      .options('/health/live')
      .set('origin', 'https://app.example.org')
      .set('access-control-request-method', 'POST')
      .set('access-control-request-headers', 'content-type,x-csrf');
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.org');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });

  it('gives no CORS grant to another origin, including look-alikes', async () => {
    for (const origin of ['https://evil.example', 'https://app.example.org.evil.example', 'http://app.example.org', 'null']) {
      const res = await request(t.url).get('/health/live').set('origin', origin);
      expect(res.headers['access-control-allow-origin'], origin).toBeUndefined();
    }
  });

  it('sends security headers on API and error responses', async () => {
    for (const path of ['/health/live', '/nope']) {
      const res = await request(t.url).get(path);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['referrer-policy']).toBe('no-referrer');
    }
  });
});
