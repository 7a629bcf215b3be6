import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { newMember } from '../emulator/testing/journeys.js';
import type { TestApp } from './support/app.js';
import { allRows } from './support/connection-callback.js';
import { ENGINES } from './support/database.js';
import { creatingBrowser, finishAtMydex, FRONTEND, startBffFor } from './support/own-form.js';
import { captureOutput } from './support/capture-output.js';

/**
 * The password must live only in memory for the one call to Mydex. After a full run of every
 * own-form outcome, this reads every column of every table and every log line the BFF wrote at
 * LOG_LEVEL=debug (pino's own output, captured where it is written: fd 1/2), and looks for it.
 */
describe.each(ENGINES)('the password after a full own-form run (%s)', (engine) => {
  let emulator: RunningEmulator;
  let t: TestApp;
  let output: ReturnType<typeof captureOutput>;
  const password = `Scan-${randomBytes(6).toString('hex')}-Pw`;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    output = captureOutput();
    // The production logger attached (not quiet) at LOG_LEVEL=debug.
    t = await startBffFor(emulator, engine, { LOG_LEVEL: 'debug', FRONTEND_ORIGINS: FRONTEND, MYDEX_TIMEOUT_MS: '1000' }, { quiet: false });

    // Every outcome, each one carrying the password.
    const member = { ...newMember('scan'), password };
    const key = crypto.randomUUID();
    const created = await request(t.url)
      .post('/v1/registrations')
      .set('idempotency-key', key)
      .send({ mydexid: member.mydexid, email: member.email, password, returnTo: '/after' });
    expect(created.status).toBe(201);
    expect(
      (
        await request(t.url)
          .post('/v1/registrations')
          .set('idempotency-key', key)
          .send({ mydexid: member.mydexid, email: member.email, password, returnTo: '/after' })
      ).status,
    ).toBe(201);
    expect(
      (
        await request(t.url)
          .post('/v1/registrations')
          .set('idempotency-key', key)
          .send({ mydexid: member.mydexid, email: member.email, password: `${password}x` })
      ).status,
    ).toBe(422);
    await finishAtMydex(created.body.privateKeyUrl, member, creatingBrowser(t.url, created));
    expect((await request(t.url).get(`/v1/registrations/${created.body.registrationId}`)).body.status).toBe('completed');

    const taken = await request(t.url)
      .post('/v1/registrations')
      .set('idempotency-key', crypto.randomUUID())
      .send({ mydexid: member.mydexid, email: 'other@example.org', password });
    expect(taken.status).toBe(409);
    expect((await request(t.url).post('/v1/registrations').send({ mydexid: 'ok1234', email: 'nope', password })).status).toBe(422);
    emulator.setFaults({ pdxStatus: 500 });
    expect(
      (
        await request(t.url)
          .post('/v1/registrations')
          .send({ ...newMember('fault'), password })
      ).status,
    ).toBe(503);
    emulator.setFaults({ pdxGarbage: true });
    expect(
      (
        await request(t.url)
          .post('/v1/registrations')
          .send({ ...newMember('garbage'), password })
      ).status,
    ).toBe(502);
    emulator.setFaults({});
  });

  afterAll(async () => {
    try {
      await t?.close();
    } finally {
      output?.restore();
    }
    await emulator?.close();
  });

  const forms = () => [
    password,
    encodeURIComponent(password),
    Buffer.from(password).toString('base64'),
    Buffer.from(password).toString('hex'),
  ];

  it('is in no column of any table', async () => {
    const rows = await allRows(t.app.get(DataSource));
    expect(Object.keys(rows)).toEqual(expect.arrayContaining(['registrations', 'idempotency_keys']));
    expect(rows.registrations!.length).toBeGreaterThan(0);
    expect(rows.idempotency_keys!.length).toBeGreaterThan(0);
    const dump = JSON.stringify(rows);
    for (const form of forms()) expect(dump).not.toContain(form);
  });

  it('is in no log line, even at debug level', () => {
    const logs = output.lines.join('');
    // The capture works: request logs and MydexClient's debug lines are there.
    expect(logs).toContain('/v1/registrations');
    expect(logs).toContain('Mydex POST /api/pds answered');
    for (const form of forms()) expect(logs).not.toContain(form);
  });
});
