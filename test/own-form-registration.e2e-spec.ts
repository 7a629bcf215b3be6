import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { newMember, type NewMember } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import type { TestApp } from './support/app.js';
import { ENGINES } from './support/database.js';
import { cookieHeader, creatingBrowser, finishAtMydex as finish, FRONTEND, OTHER_FRONTEND, startBffFor } from './support/own-form.js';

/**
 * Own-form registration end to end: the real BFF (production pipeline, fresh database) against the
 * Mydex emulator over real HTTP, the Private Key form filled in by a scripted HTTP client.
 */

const TIMEOUT_MS = 1500;

const body = (member: NewMember, extra: Record<string, unknown> = {}) => ({
  mydexid: member.mydexid,
  email: member.email,
  password: member.password,
  ...extra,
});

const expectProblem = (res: request.Response, status: number, code: string) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body.code).toBe(code);
};

describe.each(ENGINES)('own-form registration against the emulator (%s)', (engine) => {
  let emulator: RunningEmulator;
  let t: TestApp;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    t = await startBffFor(emulator, engine, { MYDEX_TIMEOUT_MS: String(TIMEOUT_MS) });
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  it('registers through the Private Key form to completed, and lands on the frontend with the registration id', async () => {
    const member = newMember('happy');
    const created = await request(t.url)
      .post('/v1/registrations')
      .send(body(member, { returnTo: `${OTHER_FRONTEND}/welcome?x=1` }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      registrationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'awaiting_private_key',
      privateKeyUrl: expect.stringMatching(/^http:\/\/localhost:\d+\/private-key\//),
    });
    expect(JSON.stringify(created.body)).not.toContain(member.password);
    const id = created.body.registrationId as string;

    const waiting = await request(t.url).get(`/v1/registrations/${id}`);
    expect(waiting.status).toBe(200);
    expect(waiting.body).toMatchObject({ registrationId: id, status: 'awaiting_private_key', strategy: 'own_form', completedAt: null });

    const landing = await finish(created.body.privateKeyUrl, member, creatingBrowser(t.url, created));
    expect(landing.chain).toContain(`${t.url}/v1/registrations/${id}/return`);
    expect(landing.url.toString()).toBe(`${OTHER_FRONTEND}/welcome?x=1&registration=${id}&status=completed`);
    expect(emulator.state.members.some((m) => m.mydexid === member.mydexid)).toBe(true);

    const done = await request(t.url).get(`/v1/registrations/${id}`);
    expect(done.body).toMatchObject({ registrationId: id, status: 'completed', completedAt: expect.any(String) });
    expect(JSON.stringify(done.body)).not.toContain(member.password);

    // A second visit to return_to (back button) lands the same way and changes nothing.
    const again = await request(t.url).get(`/v1/registrations/${id}/return`);
    expect(again.status).toBe(303);
    expect(again.headers.location).toBe(`${OTHER_FRONTEND}/welcome?x=1&registration=${id}&status=completed`);
  });

  it('lands on the first frontend origin when no returnTo was given, and resolves a returnTo path against it', async () => {
    const member = newMember('deflt');
    const created = await request(t.url).post('/v1/registrations').send(body(member));
    expect(created.status).toBe(201);
    const landing = await finish(created.body.privateKeyUrl, member, creatingBrowser(t.url, created));
    expect(landing.url.toString()).toBe(`${FRONTEND}/?registration=${created.body.registrationId}&status=completed`);

    const other = newMember('path');
    const withPath = await request(t.url)
      .post('/v1/registrations')
      .send(body(other, { returnTo: '/done' }));
    expect(withPath.status).toBe(201);
    const returned = await request(t.url)
      .get(`/v1/registrations/${withPath.body.registrationId}/return`)
      .set('cookie', cookieHeader(withPath));
    expect(returned.headers.location).toBe(`${FRONTEND}/done?registration=${withPath.body.registrationId}&status=completed`);
  });

  describe('rule failures: 422 validation_failed with every field error, and Mydex is not called', () => {
    // While these run Mydex answers 503: any call to it would turn a 422 into a 503.
    beforeAll(() => emulator.setFaults({ pdxStatus: 503 }));
    afterAll(() => emulator.setFaults({}));

    const cases: [string, Record<string, unknown>, [string, string][]][] = [
      [
        'all three missing',
        {},
        [
          ['mydexid', 'required'],
          ['email', 'required'],
          ['password', 'required'],
        ],
      ],
      [
        'whitespace only',
        { mydexid: '   ', email: ' ', password: '\t' },
        [
          ['mydexid', 'required'],
          ['email', 'required'],
          ['password', 'required'],
        ],
      ],
      [
        'a non-alphanumeric MydexID',
        { mydexid: 'alice_2024', email: 'a@example.org', password: 'longenough1' },
        [['mydexid', 'mydexid_not_alphanumeric']],
      ],
      [
        'a digits-only MydexID',
        { mydexid: '123456', email: 'a@example.org', password: 'longenough1' },
        [['mydexid', 'mydexid_digits_only']],
      ],
      ['a MydexID of 2 characters', { mydexid: 'ab', email: 'a@example.org', password: 'longenough1' }, [['mydexid', 'mydexid_length']]],
      [
        'a MydexID of 61 characters',
        { mydexid: `a${'b'.repeat(60)}`, email: 'a@example.org', password: 'longenough1' },
        [['mydexid', 'mydexid_length']],
      ],
      ['an invalid email', { mydexid: 'alice2024', email: 'not-an-email', password: 'longenough1' }, [['email', 'email_invalid']]],
      [
        'a password equal to the MydexID (after trimming)',
        { mydexid: 'alice2024x', email: 'a@example.org', password: '  alice2024x ' },
        [['password', 'password_same_as_mydexid']],
      ],
      [
        'a password of 7 characters',
        { mydexid: 'alice2024', email: 'a@example.org', password: 'short77' },
        [['password', 'password_too_short']],
      ],
    ];

    it.each(cases)('refuses %s', async (_name, input, expected) => {
      const res = await request(t.url).post('/v1/registrations').send(input);
      expectProblem(res, 422, 'validation_failed');
      expect(res.body.errors.map((e: { field: string; code: string }) => [e.field, e.code])).toEqual(expected);
      if (typeof input.password === 'string' && input.password.trim() !== '') expect(res.text).not.toContain(input.password.trim());
    });

    it('refuses a body that is not a JSON object with 400 body_not_object', async () => {
      const res = await request(t.url).post('/v1/registrations').set('content-type', 'application/json').send('["x"]');
      expectProblem(res, 400, 'body_not_object');
    });

    it('refuses a returnTo off the allowlist with 400 return_to_not_allowed', async () => {
      for (const returnTo of ['https://evil.example/', '//evil.example', `${FRONTEND}@evil.example`, 'javascript:alert(1)', 42]) {
        const res = await request(t.url)
          .post('/v1/registrations')
          .send(body(newMember('rt'), { returnTo }));
        expectProblem(res, 400, 'return_to_not_allowed');
      }
    });
  });

  it('answers 409 mydexid_taken and email_taken from Mydex, also in another letter case', async () => {
    const member = newMember('taken');
    const created = await request(t.url).post('/v1/registrations').send(body(member));
    await finish(created.body.privateKeyUrl, member);

    const sameId = await request(t.url)
      .post('/v1/registrations')
      .send({ ...body(newMember('x')), mydexid: member.mydexid.toUpperCase() });
    expectProblem(sameId, 409, 'mydexid_taken');
    expect(sameId.body.errors).toEqual([{ field: 'mydexid', code: 'mydexid_taken', message: expect.any(String), params: {} }]);

    const sameEmail = await request(t.url)
      .post('/v1/registrations')
      .send({ ...body(newMember('y')), email: member.email.toUpperCase() });
    expectProblem(sameEmail, 409, 'email_taken');
    expect(sameEmail.body.errors).toEqual([{ field: 'email', code: 'email_taken', message: expect.any(String), params: {} }]);
  });

  it('answers 504 upstream_timeout when the emulator is slower than MYDEX_TIMEOUT_MS', async () => {
    emulator.setFaults({ pdxDelayMs: TIMEOUT_MS + 1000 });
    try {
      const started = Date.now();
      const res = await request(t.url)
        .post('/v1/registrations')
        .send(body(newMember('slow')));
      expectProblem(res, 504, 'upstream_timeout');
      expect(Date.now() - started).toBeLessThan(TIMEOUT_MS + 900);
    } finally {
      emulator.setFaults({});
    }
  });

  it('answers 502 upstream_bad_response when the emulator answers garbage', async () => {
    emulator.setFaults({ pdxGarbage: true });
    try {
      const res = await request(t.url)
        .post('/v1/registrations')
        .send(body(newMember('garbage')));
      expectProblem(res, 502, 'upstream_bad_response');
    } finally {
      emulator.setFaults({});
    }
  });

  it('answers 503 upstream_unavailable with Retry-After when the emulator answers 5xx', async () => {
    emulator.setFaults({ pdxStatus: 500 });
    try {
      const res = await request(t.url)
        .post('/v1/registrations')
        .send(body(newMember('down')));
      expectProblem(res, 503, 'upstream_unavailable');
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      emulator.setFaults({});
    }
  });

  it('answers an unknown or malformed registration id with 404 registration_not_found, and lands an unknown return on the frontend with the error', async () => {
    expectProblem(await request(t.url).get('/v1/registrations/4f8c1a5e-0000-4000-8000-000000000000'), 404, 'registration_not_found');
    expectProblem(await request(t.url).get('/v1/registrations/not-a-uuid'), 404, 'registration_not_found');
    const unknown = await request(t.url).get('/v1/registrations/4f8c1a5e-0000-4000-8000-000000000000/return');
    expect(unknown.status).toBe(303);
    expect(unknown.headers.location).toBe(`${FRONTEND}/?error=registration_not_found`);
    const malformed = await request(t.url).get('/v1/registrations/%27%3Bdrop/return');
    expect(malformed.headers.location).toBe(`${FRONTEND}/?error=registration_not_found`);
  });

  describe('double submit', () => {
    it('without Idempotency-Key makes two registrations at Mydex; only the first Private Key form finished wins', async () => {
      const member = newMember('twice');
      const [a, b] = await Promise.all([
        request(t.url).post('/v1/registrations').send(body(member)),
        request(t.url).post('/v1/registrations').send(body(member)),
      ]);
      expect([a.status, b.status]).toEqual([201, 201]);
      expect(a.body.registrationId).not.toBe(b.body.registrationId);
      expect(a.body.privateKeyUrl).not.toBe(b.body.privateKeyUrl);
      await finish(a.body.privateKeyUrl, member);
      const browser = new ScriptedBrowser();
      const second = await browser.submit(await browser.navigate(b.body.privateKeyUrl), {
        privateKey: member.privateKey,
        privateKeyConfirmation: member.privateKey,
        termsAccepted: 'yes',
      });
      expect(second.status).toBe(409);
      expect((await request(t.url).get(`/v1/registrations/${b.body.registrationId}`)).body.status).toBe('awaiting_private_key');
    });

    it('with the same Idempotency-Key answers the first outcome again without calling Mydex', async () => {
      const member = newMember('idem');
      const key = crypto.randomUUID();
      const first = await request(t.url).post('/v1/registrations').set('idempotency-key', key).send(body(member));
      expect(first.status).toBe(201);
      expect(first.headers['idempotent-replayed']).toBeUndefined();
      emulator.setFaults({ pdxStatus: 503 }); // any Mydex call now would answer 503
      try {
        const repeat = await request(t.url).post('/v1/registrations').set('idempotency-key', key).send(body(member));
        expect(repeat.status).toBe(201);
        expect(repeat.body).toEqual(first.body);
        expect(repeat.headers['idempotent-replayed']).toBe('true');
        // The replay binds the same browser again: the same binding cookie.
        expect(cookieHeader(repeat)).toBe(cookieHeader(first));
      } finally {
        emulator.setFaults({});
      }
    });

    it('with the same Idempotency-Key and another body answers 422 idempotency_key_reused', async () => {
      const key = crypto.randomUUID();
      const member = newMember('reuse');
      expect((await request(t.url).post('/v1/registrations').set('idempotency-key', key).send(body(member))).status).toBe(201);
      const other = await request(t.url)
        .post('/v1/registrations')
        .set('idempotency-key', key)
        .send(body(member, { password: `${member.password}-changed` }));
      expectProblem(other, 422, 'idempotency_key_reused');
    });

    it('with the same Idempotency-Key while the first is in flight answers 409 idempotency_in_progress', async () => {
      const key = crypto.randomUUID();
      const member = newMember('flight');
      emulator.setFaults({ pdxDelayMs: 500 });
      try {
        const first = request(t.url)
          .post('/v1/registrations')
          .set('idempotency-key', key)
          .send(body(member))
          .then((res) => res);
        await new Promise((resolve) => setTimeout(resolve, 200));
        const second = await request(t.url).post('/v1/registrations').set('idempotency-key', key).send(body(member));
        expectProblem(second, 409, 'idempotency_in_progress');
        expect((await first).status).toBe(201);
      } finally {
        emulator.setFaults({});
      }
      const third = await request(t.url).post('/v1/registrations').set('idempotency-key', key).send(body(member));
      expect(third.status).toBe(201);
      expect(third.headers['idempotent-replayed']).toBe('true');
    });

    it('replays a 409 from Mydex, but not a 503, for the same Idempotency-Key', async () => {
      const existing = newMember('exist');
      const created = await request(t.url).post('/v1/registrations').send(body(existing));
      await finish(created.body.privateKeyUrl, existing);
      const clash = { ...body(newMember('clash')), mydexid: existing.mydexid };
      const key = crypto.randomUUID();
      expectProblem(await request(t.url).post('/v1/registrations').set('idempotency-key', key).send(clash), 409, 'mydexid_taken');
      const replay = await request(t.url).post('/v1/registrations').set('idempotency-key', key).send(clash);
      expectProblem(replay, 409, 'mydexid_taken');
      expect(replay.headers['idempotent-replayed']).toBe('true');
      expect(replay.body.errors).toEqual([{ field: 'mydexid', code: 'mydexid_taken', message: expect.any(String), params: {} }]);

      const retryKey = crypto.randomUUID();
      const member = newMember('retry');
      emulator.setFaults({ pdxStatus: 503 });
      try {
        expectProblem(
          await request(t.url).post('/v1/registrations').set('idempotency-key', retryKey).send(body(member)),
          503,
          'upstream_unavailable',
        );
      } finally {
        emulator.setFaults({});
      }
      const retried = await request(t.url).post('/v1/registrations').set('idempotency-key', retryKey).send(body(member));
      expect(retried.status).toBe(201);
      expect(retried.headers['idempotent-replayed']).toBeUndefined();
    });

    it('refuses a malformed Idempotency-Key with 400 idempotency_key_invalid', async () => {
      const res = await request(t.url)
        .post('/v1/registrations')
        .set('idempotency-key', 'k'.repeat(256))
        .send(body(newMember('badkey')));
      expectProblem(res, 400, 'idempotency_key_invalid');
    });
  });
});

describe('own-form registration when Mydex cannot be used', () => {
  it('answers 502 upstream_auth_failed when the BFF has the wrong client secret', async () => {
    const emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    const t = await startBffFor(emulator, 'sqlite', { MYDEX_CLIENT_SECRET: 'not-the-emulator-secret' });
    try {
      const res = await request(t.url)
        .post('/v1/registrations')
        .send(body(newMember('wrong')));
      expectProblem(res, 502, 'upstream_auth_failed');
      expect(res.text).not.toContain('not-the-emulator-secret');
    } finally {
      await t.close();
      await emulator.close();
    }
  });

  it('answers 503 upstream_unavailable with Retry-After when the emulator is stopped', async () => {
    const emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    const t = await startBffFor(emulator, 'sqlite');
    try {
      expect(
        (
          await request(t.url)
            .post('/v1/registrations')
            .send(body(newMember('before')))
        ).status,
      ).toBe(201);
      await emulator.close();
      const res = await request(t.url)
        .post('/v1/registrations')
        .send(body(newMember('after')));
      expectProblem(res, 503, 'upstream_unavailable');
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
    } finally {
      await t.close();
      await emulator.close();
    }
  });
});
