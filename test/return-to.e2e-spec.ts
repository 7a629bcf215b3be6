import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { newMember } from '../emulator/testing/journeys.js';
import type { TestApp } from './support/app.js';
import { ENGINES } from './support/database.js';
import { FRONTEND, startBffFor } from './support/own-form.js';

/**
 * The returnTo policy (src/common/return-to) applied the same way on every route that takes a web
 * returnTo: paths that start with `//` once decoded and normalised are refused 400
 * `return_to_not_allowed` before anything is started at Mydex.
 */
const LEAVING = [
  '/..//evil.example/x',
  `${FRONTEND}//evil.example/`,
  `${FRONTEND}/..//evil.example`,
  '/%2F%2Fevil.example',
  '/%252F%252Fevil.example',
  '/%5Cevil.example',
  '/.%2F/evil.example',
];

describe.each(ENGINES)('returnTo that leaves the origin once normalised (%s)', (engine) => {
  let emulator: RunningEmulator;
  let t: TestApp;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    t = await startBffFor(emulator, engine);
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  const expectRefused = (res: request.Response, value: string) => {
    expect(res.status, value).toBe(400);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.body.code, value).toBe('return_to_not_allowed');
  };

  it.each(LEAVING)('POST /v1/auth/oidc/authorize refuses %s', async (returnTo) => {
    expectRefused(await request(t.url).post('/v1/auth/oidc/authorize').send({ intent: 'login', returnTo }), returnTo);
  });

  it.each(LEAVING)('POST /v1/registrations refuses %s and creates nothing at Mydex', async (returnTo) => {
    const member = newMember('rt');
    const before = emulator.state.members.length;
    expectRefused(
      await request(t.url)
        .post('/v1/registrations')
        .send({ mydexid: member.mydexid, email: member.email, password: member.password, returnTo }),
      returnTo,
    );
    expect(emulator.state.members.length).toBe(before);
  });

  it('still accepts an ordinary path', async () => {
    expect((await request(t.url).post('/v1/auth/oidc/authorize').send({ intent: 'login', returnTo: '/welcome/back' })).status).toBe(200);
  });
});
