import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { newMember, type NewMember } from '../emulator/testing/journeys.js';
import { EnvironmentError, validateEnvironment } from '../src/config/environment.js';
import { SITEVERIFY_URLS } from '../src/registration/challenge/registration-challenge.js';
import type { TestApp } from './support/app.js';
import { ENGINES } from './support/database.js';
import { FRONTEND, startBffFor } from './support/own-form.js';
import { freePort } from '../emulator/testing/free-port.js';

/**
 * The optional human check on POST /v1/registrations (REGISTRATION_CHALLENGE), against a local stub of
 * the providers' siteverify endpoint (node:http on 127.0.0.1; nothing leaves the machine). The stub
 * answers as Turnstile and hCaptcha document: JSON `{success, "error-codes"}` to a form POST of
 * `secret`, `response` and `remoteip`.
 */

interface Verification {
  path: string;
  contentType: string | undefined;
  form: Record<string, string>;
}

/** The verdict the stub gives each token. */
const VERDICTS: Record<string, { status: number; body: string }> = {
  pass: { status: 200, body: JSON.stringify({ success: true, 'error-codes': [], hostname: 'app.example.org' }) },
  fail: { status: 200, body: JSON.stringify({ success: false, 'error-codes': ['invalid-input-response'] }) },
  used: { status: 200, body: JSON.stringify({ success: false, 'error-codes': ['timeout-or-duplicate'] }) },
  misconfigured: { status: 200, body: JSON.stringify({ success: false, 'error-codes': ['invalid-input-secret'] }) },
  broken: { status: 500, body: 'upstream exploded' },
  garbage: { status: 200, body: '<html>not json</html>' },
};

async function startStub(): Promise<{ server: Server; url: string; seen: Verification[] }> {
  const seen: Verification[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')));
      seen.push({ path: req.url ?? '', contentType: req.headers['content-type'], form });
      const verdict = VERDICTS[form.response ?? ''] ?? VERDICTS.fail!;
      res.writeHead(verdict.status, { 'content-type': verdict.body.startsWith('{') ? 'application/json' : 'text/html' }).end(verdict.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

const body = (member: NewMember) => ({ mydexid: member.mydexid, email: member.email, password: member.password });

describe('the registration challenge settings', () => {
  it("names the providers' documented siteverify endpoints", () => {
    expect(SITEVERIFY_URLS).toEqual({
      turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
      hcaptcha: 'https://api.hcaptcha.com/siteverify',
    });
  });

  it('refuses to start with a provider but no secret, or an unknown provider', () => {
    expect(() => validateEnvironment({ REGISTRATION_CHALLENGE: 'turnstile' })).toThrow(EnvironmentError);
    expect(() => validateEnvironment({ REGISTRATION_CHALLENGE: 'recaptcha', REGISTRATION_CHALLENGE_SECRET: 's' })).toThrow(
      /REGISTRATION_CHALLENGE/,
    );
    expect(validateEnvironment({}).REGISTRATION_CHALLENGE).toBe('off');
  });
});

describe.each(ENGINES)('the human check on own-form registration (%s)', (engine) => {
  let emulator: RunningEmulator;
  let stub: Awaited<ReturnType<typeof startStub>>;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    stub = await startStub();
  });
  afterAll(async () => {
    await emulator?.close();
    await new Promise((resolve) => stub?.server.close(resolve));
  });

  /** How many registrations the BFF has sent to Mydex's POST /api/pds (its upstream metric). */
  const sentToMydex = async (t: TestApp) => {
    const text = (await request(t.url).get('/metrics')).text;
    return [...text.matchAll(/^bff_upstream_request_duration_seconds_count\{endpoint="POST \/api\/pds"[^}]*\} (\d+)/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
  };

  describe.each(['turnstile', 'hcaptcha'] as const)('with %s', (provider) => {
    const secret = `challenge-secret-${randomBytes(12).toString('hex')}`;
    let t: TestApp;
    beforeAll(async () => {
      t = await startBffFor(emulator, engine, {
        REGISTRATION_CHALLENGE: provider,
        REGISTRATION_CHALLENGE_SECRET: secret,
        REGISTRATION_CHALLENGE_VERIFY_URL: `${stub.url}/${provider}/siteverify`,
      });
    });
    afterAll(async () => t?.close());

    const register = (member: NewMember, token?: string) => {
      const call = request(t.url).post('/v1/registrations');
      return (token === undefined ? call : call.set('X-Challenge-Token', token)).send(body(member));
    };
    const expectProblem = (res: request.Response, status: number, code: string) => {
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe(code);
      expect(JSON.stringify(res.headers) + JSON.stringify(res.body)).not.toContain(secret);
    };

    it('registers when the provider says the token passed, posting secret, response and remoteip as a form', async () => {
      const before = stub.seen.length;
      const sent = await sentToMydex(t);
      const created = await register(newMember(`${provider}ok`), 'pass');
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(await sentToMydex(t)).toBe(sent + 1);
      expect(stub.seen.slice(before)).toEqual([
        {
          path: `/${provider}/siteverify`,
          contentType: 'application/x-www-form-urlencoded',
          form: { secret, response: 'pass', remoteip: '127.0.0.1' },
        },
      ]);
    });

    it('answers 403 challenge_failed without the token, without asking the provider or Mydex', async () => {
      const before = stub.seen.length;
      const sent = await sentToMydex(t);
      for (const token of [undefined, '', 'x'.repeat(9000), 'bad token with spaces']) {
        expectProblem(await register(newMember(`${provider}none`), token), 403, 'challenge_failed');
      }
      expect(stub.seen.length).toBe(before);
      expect(await sentToMydex(t)).toBe(sent);
    });

    it('answers 403 challenge_failed when the provider refuses the token (wrong, expired or used), without calling Mydex', async () => {
      const sent = await sentToMydex(t);
      for (const token of ['fail', 'used']) expectProblem(await register(newMember(`${provider}no`), token), 403, 'challenge_failed');
      expect(await sentToMydex(t)).toBe(sent);
    });

    it('answers 503 challenge_unavailable with Retry-After when the provider fails, answers garbage or refuses our secret', async () => {
      const sent = await sentToMydex(t);
      for (const token of ['broken', 'garbage', 'misconfigured']) {
        const res = await register(newMember(`${provider}down`), token);
        expectProblem(res, 503, 'challenge_unavailable');
        expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
      }
      expect(await sentToMydex(t)).toBe(sent);
    });

    it('lets an allowed frontend origin send the X-Challenge-Token header (CORS preflight)', async () => {
      const preflight = await request(t.url).options('/v1/registrations').set({
        origin: FRONTEND,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type,x-challenge-token',
      });
      expect(preflight.status).toBeLessThan(300);
      expect(preflight.headers['access-control-allow-headers']).toMatch(/x-challenge-token/i);
    });

    it('counts the checks in /metrics', async () => {
      const text = (await request(t.url).get('/metrics')).text;
      for (const outcome of ['passed', 'failed', 'missing', 'unavailable']) {
        expect(text).toMatch(new RegExp(`^bff_registration_challenges_total\\{provider="${provider}",outcome="${outcome}"\\} [1-9]`, 'm'));
      }
    });
  });

  it('answers 503 challenge_unavailable when the verify endpoint cannot be reached', async () => {
    const closedPort = await freePort();
    const t = await startBffFor(emulator, engine, {
      REGISTRATION_CHALLENGE: 'turnstile',
      REGISTRATION_CHALLENGE_SECRET: 'unreachable-secret',
      REGISTRATION_CHALLENGE_VERIFY_URL: `http://127.0.0.1:${closedPort}/siteverify`,
    });
    try {
      const res = await request(t.url)
        .post('/v1/registrations')
        .set('X-Challenge-Token', 'pass')
        .send(body(newMember('unreach')));
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('challenge_unavailable');
    } finally {
      await t.close();
    }
  });

  it('asks for nothing when REGISTRATION_CHALLENGE is off (the default)', async () => {
    const before = stub.seen.length;
    const t = await startBffFor(emulator, engine, { REGISTRATION_CHALLENGE_VERIFY_URL: `${stub.url}/off` });
    try {
      const member = newMember('chaloff');
      expect((await request(t.url).post('/v1/registrations').send(body(member))).status).toBe(201);
      expect(stub.seen.length).toBe(before);
    } finally {
      await t.close();
    }
  });
});
