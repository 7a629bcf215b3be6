import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../emulator/testing/free-port.js';
import { ERROR_CODES } from '../src/common/problem/error-codes.js';
import { prefersJson } from '../src/errors/error-pages.js';
import { startTestApp, type TestApp } from './support/app.js';
import { ENGINES } from './support/database.js';

const CODES = Object.keys(ERROR_CODES).sort();
const BROWSER_ACCEPT = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

/** A path on the test app for an absolute URL the app answered with. */
const pathOf = (url: string) => new URL(url).pathname;

describe.each(ENGINES)('problem types resolve to error pages on %s', (engine) => {
  let t: TestApp;
  let base: string;
  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    t = await startTestApp({ PUBLIC_BASE_URL: base }, engine, { port });
  });
  afterAll(async () => t?.close());

  it('writes every problem `type` as {PUBLIC_BASE_URL}/errors/{code}, and that URL answers a page about the code', async () => {
    const problem = await request(t.url).get('/v1/no-such-route');
    expect(problem.status).toBe(404);
    expect(problem.body.type).toBe(`${base}/errors/not_found`);

    const page = await request(t.url).get(pathOf(problem.body.type)).set('accept', BROWSER_ACCEPT);
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers.vary).toMatch(/accept/i);
    expect(page.text).toContain('<code>not_found</code>');
    expect(page.text).toContain(`${ERROR_CODES.not_found.title} (HTTP 404)`);
    expect(page.text).toContain('When it happens');
    expect(page.text).toContain('What to do');
    expect(page.text).toContain(`href="${base}/errors"`);
  });

  it('answers the code as JSON with Accept: application/json', async () => {
    const res = await request(t.url).get('/errors/validation_failed').set('accept', 'application/json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual({ type: `${base}/errors/validation_failed`, code: 'validation_failed', ...ERROR_CODES.validation_failed });
  });

  it('lists every catalogued code at GET /errors, each with when it happens and what to do (JSON and HTML)', async () => {
    const json = await request(t.url).get('/errors').set('accept', 'application/json');
    expect(json.status).toBe(200);
    const codes = json.body.codes as Array<{ code: string; type: string; status: number; title: string; when: string; action: string }>;
    expect(codes.map((entry) => entry.code)).toEqual(CODES);
    for (const entry of codes) {
      expect(entry.type).toBe(`${base}/errors/${entry.code}`);
      expect(entry.when.length, `${entry.code}.when`).toBeGreaterThan(10);
      expect(entry.action.length, `${entry.code}.action`).toBeGreaterThan(10);
    }
    const html = await request(t.url).get('/errors');
    expect(html.headers['content-type']).toBe('text/html; charset=utf-8');
    for (const code of CODES) expect(html.text).toContain(`<a href="${base}/errors/${code}"><code>${code}</code></a>`);
  });

  it('links every listed page to one that answers 200', async () => {
    const html = await request(t.url).get('/errors');
    const links = [...html.text.matchAll(/href="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(links).toHaveLength(CODES.length);
    for (const link of links) expect((await request(t.url).get(pathOf(link))).status, link).toBe(200);
  });

  it.each(['no_such_code', 'NOT_FOUND', '__proto__', 'constructor', 'hasOwnProperty', 'not_found.html', '%3Cscript%3E'])(
    'answers 404 problem+json for an unknown code (%s)',
    async (code) => {
      const res = await request(t.url).get(`/errors/${code}`).set('accept', BROWSER_ACCEPT);
      expect(res.status).toBe(404);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'not_found', status: 404, type: `${base}/errors/not_found` });
      expect(res.text).not.toContain('<script>');
    },
  );

  it("carries each rule's params in the errors[] of a 422 (own form, DTO pipe) and of the validation endpoint", async () => {
    const own = await request(t.url)
      .post('/v1/registrations')
      .set('content-type', 'application/json')
      .send({ mydexid: 'alice1', email: 'alice@example.org', password: 'short' });
    expect(own.status).toBe(422);
    expect(own.body.errors).toEqual([
      { field: 'password', code: 'password_too_short', message: 'The password must be at least 8 characters long.', params: { min: 8 } },
    ]);

    const check = await request(t.url)
      .post('/v1/validation/registration')
      .set('content-type', 'application/json')
      .send({ mydexid: '12', email: 'alice@example.org', password: 'correct horse' });
    expect(check.body.errors).toEqual([
      {
        field: 'mydexid',
        code: 'mydexid_digits_only',
        message: 'A MydexID cannot be made up only of digits.',
        params: { pattern: '[^0-9]' },
      },
      { field: 'mydexid', code: 'mydexid_length', message: 'A MydexID must be 3 to 60 characters long.', params: { min: 3, max: 60 } },
    ]);

    // The global ValidationPipe: a catalogue rule carries its params, a constraint without any `{}`.
    const pipe = await request(t.url)
      .post('/v1/auth/oidc/authorize')
      .set('content-type', 'application/json')
      .send({ intent: 'sideways', email: 'not an address' });
    expect(pipe.status).toBe(422);
    const byCode = Object.fromEntries(
      (pipe.body.errors as Array<{ code: string; params: unknown }>).map((entry) => [entry.code, entry.params]),
    );
    expect(byCode.email_invalid).toEqual({ max: 254, pattern: expect.any(String) });
    expect(byCode.intent_invalid).toEqual({});
  });
});

describe('PROBLEM_TYPE_BASE_URL', () => {
  let t: TestApp;
  afterAll(async () => t?.close());

  it('replaces the prefix of every problem type (a `/` is added when it ends in neither `/`, `#` nor `=`)', async () => {
    t = await startTestApp({ PROBLEM_TYPE_BASE_URL: 'https://docs.example.org/bff/errors' });
    const problem = await request(t.url).get('/v1/no-such-route');
    expect(problem.body.type).toBe('https://docs.example.org/bff/errors/not_found');
    const json = await request(t.url).get('/errors/not_found').set('accept', 'application/json');
    expect(json.body.type).toBe('https://docs.example.org/bff/errors/not_found');
  });
});

describe('Accept negotiation of the error pages', () => {
  it.each([
    [undefined, false],
    ['*/*', false],
    [BROWSER_ACCEPT, false],
    ['application/json', true],
    ['application/json, text/html;q=0.5', true],
    ['text/html, application/json;q=0.9', false],
    ['application/*', true],
    ['application/json;q=0', false],
    ['application/json;q=oops', false],
  ])('Accept %s → JSON: %s', (accept, json) => {
    expect(prefersJson(accept)).toBe(json);
  });
});
