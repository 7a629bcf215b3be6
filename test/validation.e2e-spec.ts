import fc from 'fast-check';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { expectedRegistrationViolations, registrationBody } from './support/registration-reference.js';

const ROUTE = '/v1/validation/registration';
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
      const email = "^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$";
      const reg = (field: string, code: string, params: object, local = true) => ({ form: 'registration', field, code, params, message: expect.any(String), local });
      const key = (field: string, code: string, params: object) => ({ form: 'privateKey', field, code, params, message: expect.any(String), local: true });
      expect(res.body).toEqual({
        trimmed: true,
        lengthUnit: 'codePoints',
        rules: [
          reg('mydexid', 'required', {}),
          reg('mydexid', 'mydexid_taken', {}, false),
          reg('mydexid', 'mydexid_not_alphanumeric', { pattern: '^[A-Za-z0-9]+$' }),
          reg('mydexid', 'mydexid_digits_only', { pattern: '[^0-9]' }),
          reg('mydexid', 'mydexid_length', { min: 3, max: 60 }),
          reg('email', 'required', {}),
          reg('email', 'email_taken', {}, false),
          reg('email', 'email_invalid', { max: 254, pattern: email }),
          reg('password', 'required', {}),
          reg('password', 'password_same_as_mydexid', { differentFrom: 'mydexid' }),
          reg('password', 'password_too_short', { min: 8 }),
          key('privateKey', 'required', {}),
          key('privateKey', 'private_key_same_as_mydexid', { differentFrom: 'mydexid' }),
          key('privateKey', 'private_key_same_as_password', { differentFrom: 'password' }),
          key('privateKey', 'private_key_length', { min: 8, max: 128 }),
          key('termsAccepted', 'terms_not_accepted', {}),
        ],
      });
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
          { field: 'mydexid', code: 'mydexid_digits_only', message: MESSAGES['mydexid:mydexid_digits_only'] },
          { field: 'mydexid', code: 'mydexid_length', message: MESSAGES['mydexid:mydexid_length'] },
          { field: 'email', code: 'email_invalid', message: MESSAGES['email:email_invalid'] },
          { field: 'password', code: 'password_same_as_mydexid', message: MESSAGES['password:password_same_as_mydexid'] },
          { field: 'password', code: 'password_too_short', message: MESSAGES['password:password_too_short'] },
        ],
      });
    });

    it('answers an empty object with required for each field', async () => {
      const res = await post(t, '{}');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        valid: false,
        errors: ['mydexid', 'email', 'password'].map((field) => ({ field, code: 'required', message: MESSAGES[`${field}:required`] })),
      });
    });

    it('ignores unknown fields and echoes nothing, the password least of all', async () => {
      const password = 'S3cret-Password-Value';
      const res = await post(t, JSON.stringify({ mydexid: 'é', email: 'alice@example.org', password, isAdmin: true, note: 'ECHO-ME' }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ valid: false, errors: [{ field: 'mydexid', code: 'mydexid_not_alphanumeric', message: MESSAGES['mydexid:mydexid_not_alphanumeric'] }, { field: 'mydexid', code: 'mydexid_length', message: MESSAGES['mydexid:mydexid_length'] }] });
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
        type: 'https://github.com/mydex-bff/docs/errors#body_not_object',
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
          if (typeof value !== 'object' || value === null || Array.isArray(value)) {
            expect(res.status).toBe(400);
            expect(res.body.code).toBe('body_not_object');
            return;
          }
          const expected = expectedRegistrationViolations(value as Record<string, unknown>);
          expect(res.status).toBe(200);
          expect(res.body).toEqual({
            valid: expected.length === 0,
            errors: expected.map(({ field, code }) => ({ field, code, message: MESSAGES[`${field}:${code}`] })),
          });
        }),
        { numRuns: 250 },
      );
    });
  });
});
