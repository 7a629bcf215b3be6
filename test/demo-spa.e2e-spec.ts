import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';

describe('demo SPA at /', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('serves the page at / under the Content-Security-Policy, with no inline script', async () => {
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(res.headers.get('x-request-id')).toBeTruthy();
    const html = await res.text();
    expect(html).toContain('<script type="module" src="/app.js"></script>');
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
  });

  it('serves the scripts as JavaScript modules and the stylesheet as CSS', async () => {
    for (const [path, type] of [
      ['/app.js', /javascript/],
      ['/client.js', /javascript/],
      ['/styles.css', /^text\/css/],
    ] as const) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type'), path).toMatch(type);
    }
  });

  it('talks to the BFF only through the bundled typed client: no hand-written client, no fetch of its own', async () => {
    const app = await (await fetch(`${t.url}/app.js`)).text();
    expect(app).toMatch(/^import \{[^}]*\bcreateBffClient\b[^}]*\} from '\.\/client\.js';$/m);
    expect(app).not.toMatch(/\bfetch\s*\(|XMLHttpRequest/);
    const client = await (await fetch(`${t.url}/client.js`)).text();
    // One ES module: openapi-fetch and clients/typescript/src/index.ts, with nothing to load at run time.
    expect(client).toContain('// node_modules/openapi-fetch/dist/index.mjs');
    expect(client).toContain('// clients/typescript/src/index.ts');
    const exported =
      /^export \{([^}]*)\};?$/m
        .exec(client)?.[1]
        ?.split(',')
        .map((name) => name.trim()) ?? [];
    expect(exported).toEqual(expect.arrayContaining(['createBffClient', 'ok', 'ProblemError', 'authorizeUrl']));
    expect(client).not.toMatch(/^\s*import\b/m);
    // The hand-written client is gone.
    expect((await fetch(`${t.url}/api.js`)).status).toBe(404);
  });

  it('keeps the problem+json 404 for paths that are neither a file nor a route', async () => {
    for (const path of ['/nope', '/v1/nope', '/examples/spa/index.html', '/../package.json']) {
      const res = await fetch(`${t.url}${path}`);
      expect(res.status, path).toBe(404);
      expect(res.headers.get('content-type'), path).toMatch(/^application\/problem\+json/);
      expect(((await res.json()) as { code: string }).code, path).toBe('not_found');
    }
  });

  it('answers a POST to / with 405 problem+json, not the page', async () => {
    const res = await fetch(`${t.url}/`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toContain('GET');
  });
});

describe('demo SPA switched off', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ DEMO_SPA: 'off' });
  });
  afterAll(async () => t?.close());

  it('answers / with 404 problem+json when DEMO_SPA=off', async () => {
    const res = await fetch(`${t.url}/`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('not_found');
  });
});
