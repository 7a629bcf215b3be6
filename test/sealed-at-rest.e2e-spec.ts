import { createHash } from 'node:crypto';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { approveDssa, newMember } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { DataKeyRing } from '../src/common/crypto/data-key-ring.js';
import { openText } from '../src/common/crypto/sealed-text.js';
import { fieldsContext } from '../src/connection/connection.entity.js';
import { ConnectionsService } from '../src/connection/connections.service.js';
import { Registration, registrationEmailContext } from '../src/registration/registration.entity.js';
import { startBffStack, type BffStack } from './support/bff-stack.js';
import { captureOutput } from './support/capture-output.js';
import { allRows } from './support/connection-callback.js';
import { ENGINES } from './support/database.js';
import { atFrontendOrApp, FRONTEND_ORIGIN } from './support/oidc-browser.js';

/**
 * Personal data sealed at rest (issue 14 §2): after a full journey (own-form registration → Mydex's
 * Private Key form → First Time Connection → Mydex's callback, then an update whose `fields` carry
 * values, as Mydex says they may), no table (every column, both engines) and no log line (the
 * production logger at trace) holds the member key, a field value, the password or the email.
 */
describe.each(ENGINES)('personal data sealed at rest after a full journey on %s', (engine) => {
  let stack: BffStack;
  let capture: ReturnType<typeof captureOutput>;
  const member = newMember('sealed');
  const FIELD_VALUE = 'Ğrace-Field-Value-8841';
  let memberKey: string;
  let connectionId: string;

  beforeAll(async () => {
    capture = captureOutput();
    stack = await startBffStack({ engine, env: { LOG_LEVEL: 'trace', RATE_LIMITS: 'off' }, quiet: false });
    const bff = stack.a.url;
    const browser = new ScriptedBrowser();

    const created = await browser.request(`${bff}/v1/registrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mydexid: member.mydexid, email: member.email, password: member.password }),
    });
    expect(created.status).toBe(201);
    const { privateKeyUrl } = (await created.json()) as { privateKeyUrl: string };
    const form = await browser.navigate(privateKeyUrl);
    await browser.submit(
      form,
      { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
      { stopAt: atFrontendOrApp },
    );

    const started = await browser.request(`${bff}/v1/connections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf': '1' },
      body: JSON.stringify({ returnTo: `${FRONTEND_ORIGIN}/connected` }),
    });
    expect(started.status).toBe(200);
    const { url } = (await started.json()) as { url: string };
    await approveDssa(browser, url, member, { stopAt: atFrontendOrApp });
    const me = (await (await browser.request(`${bff}/v1/connections/me`)).json()) as {
      connected: boolean;
      connectionId: string;
      uid: number;
    };
    expect(me.connected).toBe(true);
    connectionId = me.connectionId;
    memberKey = (await stack.a.app.get(ConnectionsService).memberKey(connectionId))!;
    expect(memberKey.length).toBeGreaterThan(8);

    // Mydex re-delivers with values in `fields` ("May also include a value attribute containing the data for the field" [S]).
    const withValues = new URLSearchParams({
      uid: String(me.uid),
      mydexid: member.mydexid,
      key: memberKey,
      connection_id: connectionId,
      'fields[field_ds_personal_details][0][][access][r][a]': '1',
      'fields[field_ds_personal_details][0][][access][r][s]': 'A',
      'fields[field_ds_personal_details][0][field_first_name][value]': FIELD_VALUE,
      'fields[field_ds_contact_details][0][][access][r][a]': '1',
      'fields[field_ds_contact_details][0][field_email][value]': member.email,
    });
    const update = await fetch(`${bff}/v1/connections/callback`, {
      method: 'PUT',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authentication: createHash('sha512').update(stack.secrets.connectionToken).digest('hex'),
      },
      body: withValues.toString(),
    });
    expect(update.status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }, 60_000);

  afterAll(async () => {
    try {
      await stack?.close();
    } finally {
      capture?.restore();
    }
  });

  const secrets = () => ({
    'the member key': memberKey,
    'a field value': FIELD_VALUE,
    'the field value, percent-encoded': encodeURIComponent(FIELD_VALUE),
    'the password': member.password,
    'the email': member.email,
    'the email, percent-encoded': encodeURIComponent(member.email),
    'the private key': member.privateKey,
  });

  it('stores what it must, sealed: the values open with the data key', async () => {
    const db = stack.a.app.get(DataSource);
    const ring = new DataKeyRing(Buffer.from(stack.secrets.dataEncryptionKey, 'base64'));
    const [row] = (await db.query(`SELECT permissions_raw FROM connections WHERE connection_id = '${connectionId}'`)) as {
      permissions_raw: string;
    }[];
    expect(openText(ring, row!.permissions_raw, fieldsContext(connectionId))).toContain(FIELD_VALUE);
    const registration = await db.getRepository(Registration).findOneByOrFail({ mydexid: member.mydexid });
    expect(openText(ring, registration.emailSealed!, registrationEmailContext(registration.id))).toBe(member.email);
  });

  it('keeps every secret and personal value out of every table and column', async () => {
    const tables = await allRows(stack.a.app.get(DataSource));
    expect(Object.keys(tables)).toEqual(expect.arrayContaining(['connections', 'connection_events', 'registrations', 'sessions']));
    expect(tables.connection_events!.length).toBeGreaterThanOrEqual(2);
    for (const [table, rows] of Object.entries(tables)) {
      const text = JSON.stringify(rows);
      for (const [what, value] of Object.entries(secrets())) expect(text.includes(value), `${what} in ${table}`).toBe(false);
    }
  });

  it('keeps them out of every log line', () => {
    const output = capture.lines.join('');
    // The capture works: the journey was logged.
    expect(output).toContain(`connection ${connectionId} stored from PUT`);
    for (const [what, value] of Object.entries(secrets())) expect(output.includes(value), `${what} in the logs`).toBe(false);
  });
});
