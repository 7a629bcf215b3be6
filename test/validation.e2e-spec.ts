import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { startBffStack, type BffStack } from './support/bff-stack.js';
import { RULES } from '../src/validation/rule-catalogue.js';
import { EMAILS_ACCEPTED, EMAILS_REFUSED, expectedRegistrationViolations, registrationBody } from './support/registration-reference.js';

const ROUTE = '/v1/validation/registration';
/** JSON.stringify writes a lone surrogate as a \\udXXX escape (and a valid pair as itself). */
const hasLoneSurrogate = (json: string) => /\\ud[89a-f][0-9a-f]{2}/i.test(json);
const post = (t: TestApp, body: string, type = 'application/json') => request(t.url).post(ROUTE).set('content-type', type).send(body);

const MESSAGES: Record<string, string> = {
  'mydexid:required': 'Enter a MydexID.',
  'mydexid:mydexid_not_alphanumeric': 'A MydexID may contain only the letters A to Z and the digits 0 to 9.',
  'mydexid:mydexid_digits_only': 'A MydexID cannot be made up only of digits.',
  'mydexid:mydexid_length': 'A MydexID must be 3 to 60 characters long.',
  'email:required': 'Enter an email address.',
  'email:email_invalid': 'Enter a valid email address of at most 254 characters.',
  'password:required': 'Enter a password.',
  'password:password_same_as_mydexid': 'The password must not be the same as the MydexID.',
  'password:password_too_short': 'The password must be at least 8 characters long.',
};

const EMAIL_PATTERN = String.raw`^(?:[^\s\p{Cc}\p{Cs}"]|"(?:[^"\\\p{Cc}\p{Cs}]|\\[^\p{Cc}\p{Cs}])*")+@[^\s\p{Cc}\p{Cs}@]+$`;

/** Each rule's params, as every `errors[]` entry carries them (issue 16: frontends translate by code and params). */
const PARAMS: Record<string, object> = {
  'mydexid:mydexid_not_alphanumeric': { pattern: '^[A-Za-z0-9]+$' },
  'mydexid:mydexid_digits_only': { pattern: '[^0-9]' },
  'mydexid:mydexid_length': { min: 3, max: 60 },
  'email:email_invalid': { max: 254, pattern: EMAIL_PATTERN },
  'password:password_same_as_mydexid': { differentFrom: 'mydexid' },
  'password:password_too_short': { min: 8 },
};

/** One `errors[]` entry: field, code, the English message and the rule's params. */
const fieldError = (field: string, code: string) => ({
  field,
  code,
  message: MESSAGES[`${field}:${code}`],
  params: PARAMS[`${field}:${code}`] ?? {},
});

describe('validation endpoints', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  describe('GET /v1/validation/rules', () => {
    it('answers the whole catalogue in rule order', async () => {
      const res = await request(t.url).get('/v1/validation/rules');
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('public, max-age=300');
      // The catalogue as the code holds it, in its order; the messages are checked against this file's own table.
      expect(res.body).toEqual({ trimmed: true, lengthUnit: 'codePoints', rules: JSON.parse(JSON.stringify(RULES)) });
      expect(res.body.rules.filter((rule: { local: boolean }) => !rule.local).map((rule: { code: string }) => rule.code)).toEqual([
        'mydexid_taken',
        'email_taken',
      ]);
      for (const rule of res.body.rules as { form: string; field: string; code: string; message: string }[]) {
        const message = MESSAGES[`${rule.field}:${rule.code}`];
        if (rule.form === 'registration' && message) expect(rule.message).toBe(message);
      }
    });
  });

  describe('POST /v1/validation/registration', () => {
    it('answers valid details with exactly {valid: true, errors: []}', async () => {
      const res = await post(t, JSON.stringify({ mydexid: ' alice2024 ', email: 'alice@example.org', password: 'correct horse' }));
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.headers['cache-control']).toBe('no-store');
      expect(res.body).toEqual({ valid: true, errors: [] });
    });

    it('answers every failed rule with field, code and message, a field in rule order', async () => {
      const res = await post(t, JSON.stringify({ mydexid: '12', email: 'not-an-address', password: ' 12 ' }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        valid: false,
        errors: [
          fieldError('mydexid', 'mydexid_digits_only'),
          fieldError('mydexid', 'mydexid_length'),
          fieldError('email', 'email_invalid'),
          fieldError('password', 'password_same_as_mydexid'),
          fieldError('password', 'password_too_short'),
        ],
      });
    });

    it('refuses a password that is the MydexID in another letter case (MydexIDs are case-insensitive [I])', async () => {
      const res = await post(t, JSON.stringify({ mydexid: 'Alice123', email: 'alice@example.org', password: 'alice123' }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ valid: false, errors: [fieldError('password', 'password_same_as_mydexid')] });
    });

    it('answers an empty object with required for each field', async () => {
      const res = await post(t, '{}');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        valid: false,
        errors: ['mydexid', 'email', 'password'].map((field) => fieldError(field, 'required')),
      });
    });

    it('ignores unknown fields and echoes nothing, the password least of all', async () => {
      const password = 'S3cret-Password-Value';
      const res = await post(t, JSON.stringify({ mydexid: 'é', email: 'alice@example.org', password, isAdmin: true, note: 'ECHO-ME' }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        valid: false,
        errors: [fieldError('mydexid', 'mydexid_not_alphanumeric'), fieldError('mydexid', 'mydexid_length')],
      });
      expect(res.text).not.toContain(password);
      expect(res.text).not.toContain('ECHO-ME');
      expect(res.text).not.toContain('é');
    });

    it.each([
      ['an array', '[{"mydexid":"alice2024"}]'],
      ['a string', '"alice2024"'],
      ['a number', '42'],
      ['null', 'null'],
      ['true', 'true'],
    ])('refuses a body that is %s with 400 body_not_object', async (_label, body) => {
      const res = await post(t, body);
      expect(res.status).toBe(400);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).toEqual({
        // PUBLIC_BASE_URL is the default here; the page resolves (test/errors.e2e-spec.ts).
        type: 'http://localhost:3000/errors/body_not_object',
        title: 'The body must be a JSON object',
        status: 400,
        detail: 'Send the registration details as a JSON object.',
        code: 'body_not_object',
        requestId: res.headers['x-request-id'],
      });
    });

    it('refuses a request with no body with 400 body_not_object', async () => {
      const res = await request(t.url).post(ROUTE);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('body_not_object');
    });

    it('refuses malformed JSON with 400 malformed_json', async () => {
      const res = await post(t, '{"mydexid": "alice2024",');
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('malformed_json');
    });

    it('refuses a text/plain body with 415 unsupported_media_type', async () => {
      const text = await post(t, 'mydexid=alice2024', 'text/plain');
      expect(text.status).toBe(415);
      expect(text.body.code).toBe('unsupported_media_type');
    });

    it('for arbitrary JSON bodies never answers 5xx and agrees with an independent statement of the rules', async () => {
      const body = fc.oneof({ weight: 5, arbitrary: registrationBody }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) });
      await fc.assert(
        fc.asyncProperty(body, async (value) => {
          const text = JSON.stringify(value);
          const res = await post(t, text);
          expect(res.status).toBeLessThan(500);
          // Fastify refuses prototype-poisoning keys before any handler runs.
          if (res.status === 400 && res.body.code === 'malformed_json') {
            expect(text).toMatch(/"(__proto__|constructor)":/);
            return;
          }
          // The JSON body parser may refuse a string that is not Unicode text before any rule runs.
          if (res.status === 400 && res.body.code === 'invalid_unicode') {
            expect(hasLoneSurrogate(text)).toBe(true);
            return;
          }
          if (typeof value !== 'object' || value === null || Array.isArray(value)) {
            expect(res.status).toBe(400);
            expect(res.body.code).toBe('body_not_object');
            return;
          }
          const expected = expectedRegistrationViolations(value as Record<string, unknown>);
          expect(res.status).toBe(200);
          expect(res.body).toEqual({
            valid: expected.length === 0,
            errors: expected.map(({ field, code }) => fieldError(field, code)),
          });
        }),
        { numRuns: 250 },
      );
    });
  });
});

describe('one email rule on both endpoints: own form (POST /v1/validation/registration) and OIDC start (POST /v1/auth/oidc/authorize)', () => {
  let stack: BffStack;
  beforeAll(async () => {
    stack = await startBffStack();
  });
  afterAll(async () => stack?.close());

  const details = { mydexid: 'alice2024', password: 'correct horse' };
  const checkEmail = (email: string) => post(stack.a, JSON.stringify({ ...details, email }));
  const authorize = (email: unknown) =>
    request(stack.a.url)
      .post('/v1/auth/oidc/authorize')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ intent: 'register', email }));
  const emailInvalid = fieldError('email', 'email_invalid');

  it.each(EMAILS_ACCEPTED)('accepts %s on both, and hands Mydex the trimmed address', async (_label, email) => {
    const own = await checkEmail(email);
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ valid: true, errors: [] });
    const started = await authorize(email);
    expect(started.status).toBe(200);
    expect(new URL(started.body.authorizationUrl as string).searchParams.get('email')).toBe(email.trim());
  });

  it.each(EMAILS_REFUSED)('refuses %s on both with email_invalid and the same message', async (_label, email) => {
    const own = await checkEmail(email);
    const started = await authorize(email);
    if (hasLoneSurrogate(JSON.stringify(email)) && own.status === 400) {
      // The JSON body parser refuses text that is not Unicode before the rule runs; refused either way.
      for (const res of [own, started]) expect(res.body).toMatchObject({ status: 400, code: 'invalid_unicode' });
      return;
    }
    expect(own.status).toBe(200);
    expect(own.body).toEqual({ valid: false, errors: [emailInvalid] });
    expect(started.status).toBe(422);
    expect(started.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(started.body).toMatchObject({ code: 'validation_failed', errors: [emailInvalid] });
  });

  it('refuses an empty or blank email on the OIDC start as email_invalid (the own form reports required)', async () => {
    for (const email of ['', '   ']) {
      const started = await authorize(email);
      expect(started.status).toBe(422);
      expect(started.body.errors).toEqual([emailInvalid]);
      expect((await checkEmail(email)).body.errors).toEqual([fieldError('email', 'required')]);
    }
  });

  it("publishes the email rule the two endpoints apply as the BFF's own (source bff)", async () => {
    const res = await request(stack.a.url).get('/v1/validation/rules');
    const rule = (res.body.rules as { code: string; source: string; params: { pattern: string } }[]).find(
      (r) => r.code === 'email_invalid',
    )!;
    expect(rule.source).toBe('bff');
    const pattern = new RegExp(rule.params.pattern, 'u');
    for (const [, email] of EMAILS_ACCEPTED) expect(pattern.test(email.trim())).toBe(true);
  });
});
