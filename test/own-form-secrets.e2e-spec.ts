import { randomBytes } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { newMember } from '../emulator/testing/journeys.js';
import { createApp } from '../src/app.factory.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';
import { finishAtMydex, FRONTEND } from './support/own-form.js';
import { captureOutput } from './support/capture-output.js';
import { freePort } from '../emulator/testing/free-port.js';

/**
 * The password must live only in memory for the one call to Mydex. After a full run of every
 * own-form outcome, this reads every column of every table and every log line the BFF wrote at
 * LOG_LEVEL=debug (pino's own output, captured where it is written: fd 1/2), and looks for it.
 */

interface CapturedApp {
  app: NestFastifyApplication;
  url: string;
  database: DatabaseTarget;
  close(): Promise<void>;
}


/** Like startTestApp, but with the production logger attached (not quiet) at LOG_LEVEL=debug. */
async function startLoggedBff(emulator: RunningEmulator, engine: 'sqlite' | 'postgres'): Promise<CapturedApp> {
  const database = await freshDatabase(engine);
  const port = await freePort();
  const env: Record<string, string> = {
    NODE_ENV: 'test',
    LOG_LEVEL: 'debug',
    RATE_LIMITS: 'off',
    DATABASE_URL: database.url,
    MYDEX_ISSUER: emulator.issuer,
    MYDEX_PDX_URL: emulator.url,
    PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
    FRONTEND_ORIGINS: FRONTEND,
    MYDEX_TIMEOUT_MS: '1000',
  };
  const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]));
  Object.assign(process.env, env);
  const restore = () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  const app = await createApp();
  await app.listen({ port, host: '127.0.0.1' });
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    database,
    close: async () => {
      await app.close();
      restore();
      await database.drop();
    },
  };
}

async function everyRow(app: NestFastifyApplication, engine: 'sqlite' | 'postgres'): Promise<Record<string, unknown[]>> {
  const db = app.get(DataSource);
  const tables: { name: string }[] =
    engine === 'sqlite'
      ? await db.query(`SELECT name FROM sqlite_master WHERE type = 'table'`)
      : await db.query(`SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'`);
  const out: Record<string, unknown[]> = {};
  for (const { name } of tables) out[name] = await db.query(`SELECT * FROM "${name.replace(/"/g, '""')}"`);
  return out;
}

describe.each(ENGINES)('the password after a full own-form run (%s)', (engine) => {
  let emulator: RunningEmulator;
  let t: CapturedApp;
  let output: ReturnType<typeof captureOutput>;
  const password = `Scan-${randomBytes(6).toString('hex')}-Pw`;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    output = captureOutput();
    t = await startLoggedBff(emulator, engine);

    // Every outcome, each one carrying the password.
    const member = { ...newMember('scan'), password };
    const key = crypto.randomUUID();
    const created = await request(t.url).post('/v1/registrations').set('idempotency-key', key).send({ mydexid: member.mydexid, email: member.email, password, returnTo: '/after' });
    expect(created.status).toBe(201);
    expect((await request(t.url).post('/v1/registrations').set('idempotency-key', key).send({ mydexid: member.mydexid, email: member.email, password, returnTo: '/after' })).status).toBe(201);
    expect((await request(t.url).post('/v1/registrations').set('idempotency-key', key).send({ mydexid: member.mydexid, email: member.email, password: `${password}x` })).status).toBe(422);
    await finishAtMydex(created.body.privateKeyUrl, member);
    expect((await request(t.url).get(`/v1/registrations/${created.body.registrationId}`)).body.status).toBe('completed');

    const taken = await request(t.url).post('/v1/registrations').set('idempotency-key', crypto.randomUUID()).send({ mydexid: member.mydexid, email: 'other@example.org', password });
    expect(taken.status).toBe(409);
    expect((await request(t.url).post('/v1/registrations').send({ mydexid: 'ok1234', email: 'nope', password })).status).toBe(422);
    emulator.setFaults({ pdxStatus: 500 });
    expect((await request(t.url).post('/v1/registrations').send({ ...newMember('fault'), password })).status).toBe(503);
    emulator.setFaults({ pdxGarbage: true });
    expect((await request(t.url).post('/v1/registrations').send({ ...newMember('garbage'), password })).status).toBe(502);
    emulator.setFaults({});
  });

  afterAll(async () => {
    output?.restore();
    await t?.close();
    await emulator?.close();
  });

  const forms = () => [password, encodeURIComponent(password), Buffer.from(password).toString('base64'), Buffer.from(password).toString('hex')];

  it('is in no column of any table', async () => {
    const rows = await everyRow(t.app, engine);
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
