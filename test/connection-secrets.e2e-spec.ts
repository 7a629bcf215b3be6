import request from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from './support/app.js';
import { CALLBACK_AUTH, callbackForm, callbackJson, TEST_DATA_KEY } from './support/connection-callback.js';
import { ENGINES } from './support/database.js';
import { captureOutput } from './support/capture-output.js';

/**
 * The member key never reaches a log line. The BFF runs with the production logger attached at
 * LOG_LEVEL=trace, and everything written to fd 1/2 (pino writes there through sonic-boom with
 * fs.write/fs.writeSync, bypassing process.stdout) is captured and searched.
 */
describe.each(ENGINES)('the member key and the logs on %s', (engine) => {
  const key = 'member-key-never-logged-7c1d9e';
  let t: TestApp;
  let url: string;
  let capture: ReturnType<typeof captureOutput>;

  beforeAll(async () => {
    capture = captureOutput();
    t = await startTestApp({ LOG_LEVEL: 'trace', DATA_ENCRYPTION_KEY: TEST_DATA_KEY }, engine, { quiet: false });
    url = t.url;
  });
  afterAll(async () => {
    try {
      await t?.close();
    } finally {
      capture?.restore();
    }
  });

  it('logs every delivery, stored or refused, without the key', async () => {
    const auth = (r: request.Test) => r.set('authentication', CALLBACK_AUTH);
    const statuses = [
      (
        await auth(request(url).post('/v1/connections/callback'))
          .type('form')
          .send(callbackForm({ uid: 5, key }))
      ).status,
      (await auth(request(url).put('/v1/connections/callback')).send(callbackJson({ uid: 5, key }))).status,
      (await auth(request(url).post('/v1/connections/callback')).send({ ...callbackJson({ uid: 5, key }), uid: 'x' })).status,
      (
        await auth(request(url).post('/v1/connections/callback'))
          .type('form')
          .send(`${callbackForm({ uid: 5, key })}&x=%FF`)
      ).status,
      (
        await request(url)
          .post('/v1/connections/callback')
          .type('form')
          .send(callbackForm({ uid: 5, key }))
      ).status,
      (
        await request(url)
          .post(`/v1/connections/callback?key=${key}`)
          .set('authentication', CALLBACK_AUTH)
          .type('form')
          .send(callbackForm({ uid: 5, key }))
      ).status,
    ];
    expect(statuses).toEqual([200, 200, 200, 400, 401, 200]);
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
