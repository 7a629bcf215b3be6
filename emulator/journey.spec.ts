import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { sha512Hex } from './secrets.js';
import { startCallbackReceiver, type CallbackReceiver } from './testing/callback-receiver.js';
import { inputValue, ScriptedBrowser } from './testing/scripted-browser.js';
import { newMember } from './testing/journeys.js';

/**
 * "Must show" (issue 4): with the emulator running, a scripted HTTP client (no browser) registers
 * through /api/pds, submits the Private Key form, starts a First Time Connection, approves the DSSA,
 * and the callback reaches a test receiver with the correct Authentication header. Every request is
 * written out by hand here, as a subscriber would make it.
 */

let emulator: RunningEmulator;
let receiver: CallbackReceiver;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  emulator = await startEmulator({ port: 0, callbackUrl: receiver.url });
});

afterAll(async () => {
  await emulator.close();
  await receiver.close();
});

const basic = () => `Basic ${Buffer.from(`${emulator.options.clientId}:${emulator.options.clientSecret}`).toString('base64')}`;

/** The three headers every PDX call carries, with a fresh single-use short token. */
async function pdxHeaders(accessToken: string): Promise<Record<string, string>> {
  const shortResponse = await fetch(`${emulator.url}/access-token/${emulator.options.connectionNid}`);
  expect(shortResponse.status).toBe(200);
  const short = (await shortResponse.json()) as string;
  return {
    authorization: `Bearer ${accessToken}`,
    'short-access-token': short,
    authentication: sha512Hex(short + emulator.options.connectionToken),
    'content-type': 'application/json',
  };
}

describe('Must show: own-form registration, First Time Connection and the callback, over plain HTTP', () => {
  it('registers, creates the private key, connects and delivers the callback to the subscriber', async () => {
    const member = newMember('mustshow');
    const connectionTokenHash = sha512Hex(emulator.options.connectionToken);
    const returnTo = 'http://127.0.0.1:3000/v1/registrations/r-1/return';
    const connectionReturn = 'http://127.0.0.1:3000/v1/connections/return';

    // 1. The subscriber's client-credentials token.
    const tokenResponse = await fetch(`${emulator.issuer}/oauth2/token`, {
      method: 'POST',
      headers: { authorization: basic(), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials&scope=mydex%3Apdx',
    });
    expect(tokenResponse.status).toBe(200);
    const { access_token: accessToken, expires_in: expiresIn } = (await tokenResponse.json()) as {
      access_token: string;
      expires_in: number;
    };
    expect(expiresIn).toBe(3600);

    // 2. POST /api/pds → the Private Key form URL.
    const pds = await fetch(`${emulator.url}/api/pds`, {
      method: 'POST',
      headers: await pdxHeaders(accessToken),
      body: JSON.stringify({
        mydexid: ` ${member.mydexid} `,
        email: member.email,
        password: member.password,
        connection_nid: emulator.options.connectionNid,
        connection_token_hash: connectionTokenHash,
        return_to: returnTo,
      }),
    });
    expect(pds.status).toBe(200);
    const privateKeyUrl = (await pds.json()) as string;

    // 3. The member's browser completes the Private Key form and goes back to return_to.
    const browser = new ScriptedBrowser();
    const form = await browser.navigate(privateKeyUrl);
    expect(form.status).toBe(200);
    const registered = await browser.submit(
      form,
      { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
      { stopAt: (url) => url.toString() === returnTo },
    );
    expect(registered.url.toString()).toBe(returnTo);
    const created = emulator.state.members.find((m) => m.mydexid === member.mydexid);
    expect(created).toBeDefined();

    // 4. POST /api/connection → the one-time DSSA URL.
    const ftc = await fetch(`${emulator.url}/api/connection`, {
      method: 'POST',
      headers: await pdxHeaders(accessToken),
      body: JSON.stringify({
        mydexid: member.mydexid,
        connection_nid: emulator.options.connectionNid,
        connection_token_hash: connectionTokenHash,
        return_to: connectionReturn,
      }),
    });
    expect(ftc.status).toBe(200);
    const dssaUrl = (await ftc.json()) as string;

    // 5. In another browser the member logs in, reviews the agreement and approves with the private key.
    const later = new ScriptedBrowser();
    const login = await later.navigate(dssaUrl);
    expect(inputValue(login.body, 'mydexid')).toBe(member.mydexid);
    const agreement = await later.submit(login, { mydexid: member.mydexid, password: member.password });
    expect(agreement.status).toBe(200);
    expect(agreement.body).toContain('Datasets requested');
    const back = await later.submit(agreement, { privateKey: member.privateKey }, { stopAt: (url) => url.toString() === connectionReturn });
    expect(back.url.toString()).toBe(connectionReturn);

    // 6. The subscriber received the callback.
    const callback = await receiver.waitFor(1);
    expect(callback.method).toBe('POST');
    expect(callback.path).toBe('/callback');
    expect(callback.headers.authentication).toBe(connectionTokenHash);
    expect(callback.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(callback.fields).toMatchObject({
      uid: String(created!.uid),
      mydexid: member.mydexid,
      connection_id: `${created!.uid}-${emulator.options.connectionNid}`,
    });
    expect(callback.fields.key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(callback.fields.fields).toHaveProperty('field_ds_personal_details');
    expect(emulator.state.deliveries).toEqual([expect.objectContaining({ method: 'POST', delivered: true })]);
  });
});
