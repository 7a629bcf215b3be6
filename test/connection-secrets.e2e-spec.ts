import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/app.factory.js';
import { CALLBACK_AUTH, callbackForm, callbackJson, TEST_DATA_KEY } from './support/connection-callback.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';
import { captureOutput } from './support/capture-output.js';

/**
 * The member key never reaches a log line. The BFF runs with the production logger attached at
 * LOG_LEVEL=trace, and everything written to fd 1/2 (pino writes there through sonic-boom with
 * fs.write/fs.writeSync, bypassing process.stdout) is captured and searched.
 */
describe.each(ENGINES)('the member key and the logs on %s', (engine) => {
  const key = 'member-key-never-logged-7c1d9e';
  let app: NestFastifyApplication;
  let url: string;
  let database: DatabaseTarget;
  let capture: ReturnType<typeof captureOutput>;
  const saved: Record<string, string | undefined> = {};

  beforeAll(async () => {
    database = await freshDatabase(engine);
    const env = { NODE_ENV: 'test', LOG_LEVEL: 'trace', RATE_LIMITS: 'off', DATABASE_URL: database.url, DATA_ENCRYPTION_KEY: TEST_DATA_KEY };
    for (const [name, value] of Object.entries(env)) {
      saved[name] = process.env[name];
      process.env[name] = value;
    }
    capture = captureOutput();
    app = await createApp();
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  });
  afterAll(async () => {
    await app?.close();
    capture?.restore();
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await database?.drop();
  });

  it('logs every delivery, stored or refused, without the key', async () => {
    const auth = (r: request.Test) => r.set('authentication', CALLBACK_AUTH);
    const statuses = [
      (await auth(request(url).post('/v1/connections/callback')).type('form').send(callbackForm({ uid: 5, key }))).status,
      (await auth(request(url).put('/v1/connections/callback')).send(callbackJson({ uid: 5, key }))).status,
      (await auth(request(url).post('/v1/connections/callback')).send({ ...callbackJson({ uid: 5, key }), uid: 'x' })).status,
      (await auth(request(url).post('/v1/connections/callback')).type('form').send(`${callbackForm({ uid: 5, key })}&x=%FF`)).status,
      (await request(url).post('/v1/connections/callback').type('form').send(callbackForm({ uid: 5, key }))).status,
      (await request(url).post(`/v1/connections/callback?key=${key}`).set('authentication', CALLBACK_AUTH).type('form').send(callbackForm({ uid: 5, key }))).status,
    ];
    expect(statuses).toEqual([200, 200, 422, 400, 401, 200]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const output = capture.lines.join('');
    // The capture works: the deliveries were logged, at info and by pino-http.
    expect(output).toContain('connection 5-45678 stored from POST');
    expect(output).toContain('connection 5-45678 stored from PUT');
    expect(output).toContain('/v1/connections/callback');
    expect(output).not.toContain(key);
    expect(output).not.toContain(encodeURIComponent(key));
    // Nor the Authentication header value.
    expect(output).not.toContain(CALLBACK_AUTH);
  });
});
