import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { newMember } from '../emulator/testing/journeys.js';
import { startTestApp, type TestApp } from './support/app.js';
import { creatingBrowser, finishAtMydex, startBffFor } from './support/own-form.js';

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

  it('counts Mydex callbacks by outcome, including those the guard refuses', async () => {
    await request(t.url).post('/v1/connections/callback').set('content-type', 'application/json').send({ uid: 1 });
    await request(t.url).put('/v1/connections/callback').set('authentication', 'not-the-hash').send({ uid: 1 });
    const res = await request(t.url).get('/metrics');
    expect(res.text).toMatch(/bff_connection_callbacks_total\{method="POST",outcome="unauthenticated"\} 1/);
    expect(res.text).toMatch(/bff_connection_callbacks_total\{method="PUT",outcome="unauthenticated"\} 1/);
  });
});

describe('registration metrics', () => {
  let emulator: RunningEmulator;
  let t: TestApp;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
    t = await startBffFor(emulator, 'sqlite');
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  it('counts own-form registrations started, completed and refused by Mydex', async () => {
    const member = newMember();
    const created = await request(t.url)
      .post('/v1/registrations')
      .send({ mydexid: member.mydexid, email: member.email, password: member.password });
    expect(created.status).toBe(201);
    await finishAtMydex(created.body.privateKeyUrl, member, creatingBrowser(t.url, created));
    const taken = await request(t.url)
      .post('/v1/registrations')
      .send({ mydexid: member.mydexid, email: `x${member.email}`, password: member.password });
    expect(taken.status).toBe(409);
    const res = await request(t.url).get('/metrics');
    expect(res.text).toMatch(/bff_registrations_total\{strategy="own_form",outcome="awaiting_private_key"\} 1/);
    expect(res.text).toMatch(/bff_registrations_total\{strategy="own_form",outcome="completed"\} 1/);
    expect(res.text).toMatch(/bff_registrations_total\{strategy="own_form",outcome="mydexid_taken"\} 1/);
    expect(res.text).toMatch(/bff_upstream_request_duration_seconds_count\{endpoint="POST \/api\/pds",outcome="ok"\} 1/);
  });
});
