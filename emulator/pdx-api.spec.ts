import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ruleFor } from '../src/validation/rule-catalogue.js';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { sha512Hex } from './secrets.js';
import { startCallbackReceiver, type CallbackReceiver } from './testing/callback-receiver.js';
import { fieldErrors, hasLabelFor, pageText } from './testing/html-inspection.js';
import {
  approveDssa,
  authorizationRequest,
  callPdx,
  codeFrom,
  completeLogin,
  completeLogout,
  exchangeCode,
  newMember,
  pdxAccessToken,
  registerThroughLaca,
  registerThroughPdxApi,
  shortAccessToken,
  type NewMember,
} from './testing/journeys.js';
import { ScriptedBrowser } from './testing/scripted-browser.js';

const RETURN_TO = 'http://127.0.0.1:3997/v1/registrations/abc/return';
const CONNECTION_RETURN = 'http://127.0.0.1:3997/v1/connections/return';
const REDIRECT_URI = 'http://127.0.0.1:3997/v1/auth/oidc/callback';

let emulator: RunningEmulator;
let receiver: CallbackReceiver;
let bearer: string;

beforeAll(async () => {
  receiver = await startCallbackReceiver();
  emulator = await startEmulator({ port: 0, redirectUris: [REDIRECT_URI], callbackUrl: receiver.url, callbackRetryDelaysMs: [50, 100] });
  bearer = await pdxAccessToken(emulator);
});

afterAll(async () => {
  await emulator.close();
  await receiver.close();
});

beforeEach(() => {
  emulator.setFaults({});
  receiver.answers.length = 0;
});

const expectUnauthorized = async (response: Response, reason: RegExp) => {
  expect(response.status).toBe(401);
  const body = (await response.json()) as { error: { message: string; reason: string } };
  expect(body).toEqual({ error: { message: 'Unauthorized', reason: expect.stringMatching(reason) } });
};

const expectFailure = async (response: Response, status: number, message: string | RegExp) => {
  expect(response.status).toBe(status);
  expect(await response.json()).toEqual({ success: 0, message: typeof message === 'string' ? message : expect.stringMatching(message) });
};

const registration = (member: NewMember) => ({
  mydexid: member.mydexid,
  email: member.email,
  password: member.password,
  return_to: RETURN_TO,
});

/** A PDX call with every header under the test's control. */
async function rawCall(path: string, headers: Record<string, string>, body: string, contentType = 'application/json'): Promise<Response> {
  return fetch(`${emulator.url}${path}`, { method: 'POST', headers: { 'content-type': contentType, ...headers }, body });
}

async function goodHeaders(): Promise<Record<string, string>> {
  const short = await shortAccessToken(emulator);
  return {
    authorization: `Bearer ${bearer}`,
    'short-access-token': short,
    authentication: sha512Hex(short + emulator.options.connectionToken),
  };
}

const connectionFields = () => ({
  connection_nid: emulator.options.connectionNid,
  connection_token_hash: sha512Hex(emulator.options.connectionToken),
});

describe('GET /access-token/{nid}', () => {
  it('answers a fresh short token as a JSON string each time', async () => {
    const response = await fetch(`${emulator.url}/access-token/${emulator.options.connectionNid}`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const first = (await response.json()) as unknown;
    expect(typeof first).toBe('string');
    expect(await shortAccessToken(emulator)).not.toBe(first);
  });

  it('refuses an unknown connection NID with 404', async () => {
    const response = await fetch(`${emulator.url}/access-token/99999`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { message: 'Connection not found.' } });
  });
});

describe('PDX API authentication refusals (the same on every route)', () => {
  const paths = ['/api/pds', '/api/connection', '/api/connection/update'];

  it.each(paths)('%s refuses a call without a Bearer token', async (path) => {
    const headers = await goodHeaders();
    delete headers.authorization;
    await expectUnauthorized(await rawCall(path, headers, '{}'), /Bearer/);
  });

  it.each(paths)('%s refuses an unknown Bearer token', async (path) => {
    await expectUnauthorized(
      await rawCall(path, { ...(await goodHeaders()), authorization: 'Bearer not-a-token' }, '{}'),
      /invalid or has expired/,
    );
  });

  it('refuses Basic credentials in place of a Bearer token', async () => {
    const basic = `Basic ${Buffer.from(`${emulator.options.clientId}:${emulator.options.clientSecret}`).toString('base64')}`;
    await expectUnauthorized(await rawCall('/api/pds', { ...(await goodHeaders()), authorization: basic }, '{}'), /Bearer/);
  });

  it('refuses a client-credentials token without the mydex:pdx scope', async () => {
    const token = await pdxAccessToken(emulator, 'openid');
    await expectUnauthorized(await rawCall('/api/pds', { ...(await goodHeaders()), authorization: `Bearer ${token}` }, '{}'), /mydex:pdx/);
  });

  it("refuses a member's access token from the authorization code flow", async () => {
    const member = newMember('bearer');
    await registerThroughPdxApi(emulator, new ScriptedBrowser(), member, RETURN_TO);
    const request = authorizationRequest(emulator);
    const landing = await completeLogin(new ScriptedBrowser(), request.url, member, {
      stopAt: (u) => u.toString().startsWith(REDIRECT_URI),
    });
    const tokens = await exchangeCode(emulator, codeFrom(landing).code, request);
    await expectUnauthorized(
      await rawCall('/api/pds', { ...(await goodHeaders()), authorization: `Bearer ${tokens.access_token}` }, '{}'),
      /invalid/,
    );
  });

  it.each(paths)('%s refuses a call without Short-Access-Token', async (path) => {
    const headers = await goodHeaders();
    delete headers['short-access-token'];
    await expectUnauthorized(await rawCall(path, headers, '{}'), /Short-Access-Token/);
  });

  it('refuses a short token the emulator never issued', async () => {
    const fake = 'made-up-short-token';
    const response = await rawCall(
      '/api/pds',
      { authorization: `Bearer ${bearer}`, 'short-access-token': fake, authentication: sha512Hex(fake + emulator.options.connectionToken) },
      '{}',
    );
    await expectUnauthorized(response, /Short-Access-Token/);
  });

  it('refuses a short token used a second time, even after a successful call', async () => {
    const headers = await goodHeaders();
    const body = JSON.stringify({ ...connectionFields(), ...registration(newMember('reuse')) });
    expect((await rawCall('/api/pds', headers, body)).status).toBe(200);
    await expectUnauthorized(
      await rawCall('/api/pds', headers, JSON.stringify({ ...connectionFields(), ...registration(newMember('reuse')) })),
      /already used/,
    );
  });

  it('uses the short token up even when the call is refused later', async () => {
    const headers = await goodHeaders();
    expect((await rawCall('/api/pds', { ...headers, authentication: 'wrong' }, '{}')).status).toBe(401);
    await expectUnauthorized(await rawCall('/api/pds', headers, '{}'), /already used/);
  });

  it.each([
    ['missing', (_short: string, _token: string) => undefined],
    ['the hash of the connection token alone', (_short: string, token: string) => sha512Hex(token)],
    ['connection token first', (short: string, token: string) => sha512Hex(token + short)],
    [
      'SHA-256 instead of SHA-512',
      (short: string, token: string) =>
        createHash('sha256')
          .update(short + token)
          .digest('hex'),
    ],
    ['upper-case hex', (short: string, token: string) => sha512Hex(short + token).toUpperCase()],
  ])('refuses an Authentication header that is %s', async (_label, make) => {
    const headers = await goodHeaders();
    const value = make(headers['short-access-token']!, emulator.options.connectionToken);
    if (value === undefined) delete headers.authentication;
    else headers.authentication = value;
    await expectUnauthorized(await rawCall('/api/connection', headers, '{}'), /Authentication/);
  });

  it('refuses a connection_token_hash that is not SHA-512 of the connection token', async () => {
    const body = {
      ...registration(newMember('hash')),
      connection_nid: emulator.options.connectionNid,
      connection_token_hash: createHash('sha256').update(emulator.options.connectionToken).digest('hex'),
    };
    await expectUnauthorized(await rawCall('/api/pds', await goodHeaders(), JSON.stringify(body)), /connection_token_hash/);
  });

  it('refuses another connection NID in the body', async () => {
    const body = { ...registration(newMember('nid')), ...connectionFields(), connection_nid: '11111' };
    await expectUnauthorized(await rawCall('/api/pds', await goodHeaders(), JSON.stringify(body)), /connection_nid/);
  });

  it('accepts the connection NID as a number too', async () => {
    const body = { ...registration(newMember('nidnum')), ...connectionFields(), connection_nid: Number(emulator.options.connectionNid) };
    expect((await rawCall('/api/pds', await goodHeaders(), JSON.stringify(body))).status).toBe(200);
  });
});

describe('PDX API body refusals', () => {
  it.each([
    ['connection_nid', 'connection_nid is required.'],
    ['connection_token_hash', 'connection_token_hash is required.'],
    ['return_to', 'return_to is required.'],
  ])('refuses a body without %s with 400 {success:0}', async (field, message) => {
    const body: Record<string, unknown> = { ...connectionFields(), ...registration(newMember('missing')) };
    delete body[field];
    await expectFailure(await rawCall('/api/pds', await goodHeaders(), JSON.stringify(body)), 400, message);
  });

  it('refuses a return_to that is not an absolute http(s) URL', async () => {
    const body = { ...connectionFields(), ...registration(newMember('ret')), return_to: 'javascript:alert(1)' };
    await expectFailure(await rawCall('/api/pds', await goodHeaders(), JSON.stringify(body)), 400, /return_to/);
  });

  it('refuses a form-encoded body with 415', async () => {
    await expectFailure(
      await rawCall('/api/pds', await goodHeaders(), 'mydexid=x', 'application/x-www-form-urlencoded'),
      415,
      /application\/json/,
    );
  });

  it('refuses malformed JSON with 400', async () => {
    await expectFailure(await rawCall('/api/pds', await goodHeaders(), '{"mydexid":'), 400, 'Malformed JSON body.');
  });

  it('refuses a JSON body that is not an object', async () => {
    await expectFailure(await rawCall('/api/pds', await goodHeaders(), '["x"]'), 400, /object/);
  });
});

describe('POST /api/pds', () => {
  it.each([
    ['a missing MydexID', { mydexid: undefined }, ruleFor('registration', 'mydexid', 'required').message],
    [
      'a MydexID that is not alphanumeric',
      { mydexid: 'no_underscores' },
      ruleFor('registration', 'mydexid', 'mydexid_not_alphanumeric').message,
    ],
    ['a MydexID of digits only', { mydexid: '1234567' }, ruleFor('registration', 'mydexid', 'mydexid_digits_only').message],
    ['a MydexID of 2 characters', { mydexid: 'ab' }, ruleFor('registration', 'mydexid', 'mydexid_length').message],
    ['a MydexID of 61 characters', { mydexid: 'a'.repeat(61) }, ruleFor('registration', 'mydexid', 'mydexid_length').message],
    ['a missing email', { email: undefined }, ruleFor('registration', 'email', 'required').message],
    ['a malformed email', { email: 'alice@' }, ruleFor('registration', 'email', 'email_invalid').message],
    ['a missing password', { password: '  ' }, ruleFor('registration', 'password', 'required').message],
    ['a password of 7 characters', { password: 'abcd123' }, ruleFor('registration', 'password', 'password_too_short').message],
  ])('refuses %s with 400 {success:0, message}', async (_label, change, message) => {
    const member = { ...registration(newMember('rule')), ...change };
    await expectFailure(await callPdx(emulator, '/api/pds', member, bearer), 400, message);
  });

  it('refuses a password equal to the MydexID (after trimming)', async () => {
    const member = registration(newMember('same'));
    const response = await callPdx(emulator, '/api/pds', { ...member, password: `  ${member.mydexid}  ` }, bearer);
    await expectFailure(
      response,
      400,
      new RegExp(ruleFor('registration', 'password', 'password_same_as_mydexid').message.replace('.', '\\.')),
    );
  });

  it('reports every failing rule in one message, in rule order', async () => {
    const response = await callPdx(emulator, '/api/pds', { mydexid: '12', email: '', password: '12', return_to: RETURN_TO }, bearer);
    const expected = [
      ruleFor('registration', 'mydexid', 'mydexid_digits_only').message,
      ruleFor('registration', 'mydexid', 'mydexid_length').message,
      ruleFor('registration', 'email', 'required').message,
      ruleFor('registration', 'password', 'password_same_as_mydexid').message,
      ruleFor('registration', 'password', 'password_too_short').message,
    ].join(' ');
    await expectFailure(response, 400, expected);
  });

  it('answers the Private Key form URL as a JSON string', async () => {
    const response = await callPdx(emulator, '/api/pds', registration(newMember('ok')), bearer);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    const url = (await response.json()) as string;
    expect(url).toMatch(new RegExp(`^${emulator.url}/private-key/[A-Za-z0-9_-]{43}$`));
  });

  it('does not create the member before the Private Key form is completed', async () => {
    const member = newMember('later');
    expect((await callPdx(emulator, '/api/pds', registration(member), bearer)).status).toBe(200);
    expect(emulator.state.members.some((m) => m.mydexid === member.mydexid)).toBe(false);
  });

  it('refuses a MydexID in use, in any case, with 409 "Mydexid already in use."', async () => {
    const member = newMember('dup');
    await registerThroughPdxApi(emulator, new ScriptedBrowser(), member, RETURN_TO);
    const again = { ...registration(newMember('dup')), mydexid: member.mydexid.toUpperCase() };
    const response = await callPdx(emulator, '/api/pds', again, bearer);
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ error: { message: 'Mydexid already in use.' } });
  });

  it('refuses an email in use, in any case, with 409 "Email already in use."', async () => {
    const member = newMember('dupmail');
    await registerThroughPdxApi(emulator, new ScriptedBrowser(), member, RETURN_TO);
    const again = { ...registration(newMember('other')), email: member.email.toUpperCase() };
    const response = await callPdx(emulator, '/api/pds', again, bearer);
    expect(response.status).toBe(409);
    expect(await response.json()).toEqual({ error: { message: 'Email already in use.' } });
  });
});

describe('the Private Key form', () => {
  async function privateKeyForm(member: NewMember) {
    const url = (await (await callPdx(emulator, '/api/pds', registration(member), bearer)).json()) as string;
    const browser = new ScriptedBrowser();
    return { browser, url, page: await browser.navigate(url) };
  }

  it('shows the MydexID and labelled fields for the key, its confirmation and the terms', async () => {
    const member = newMember('pkform');
    const { page } = await privateKeyForm(member);
    expect(page.status).toBe(200);
    expect(pageText(page.body)).toContain(member.mydexid);
    for (const id of ['privateKey', 'privateKeyConfirmation', 'termsAccepted']) expect(hasLabelFor(page.body, id)).toBe(true);
  });

  it.each([
    [
      'an empty private key',
      () => ({ privateKey: '', privateKeyConfirmation: '' }),
      'privateKey',
      ruleFor('privateKey', 'privateKey', 'required').message,
    ],
    [
      'the MydexID as private key',
      (m: NewMember) => ({ privateKey: m.mydexid, privateKeyConfirmation: m.mydexid }),
      'privateKey',
      ruleFor('privateKey', 'privateKey', 'private_key_same_as_mydexid').message,
    ],
    [
      'the password as private key',
      (m: NewMember) => ({ privateKey: ` ${m.password} `, privateKeyConfirmation: m.password }),
      'privateKey',
      ruleFor('privateKey', 'privateKey', 'private_key_same_as_password').message,
    ],
    [
      'a private key of 7 characters',
      () => ({ privateKey: 'k234567', privateKeyConfirmation: 'k234567' }),
      'privateKey',
      ruleFor('privateKey', 'privateKey', 'private_key_length').message,
    ],
    [
      'a private key of 129 characters',
      () => ({ privateKey: 'k'.repeat(129), privateKeyConfirmation: 'k'.repeat(129) }),
      'privateKey',
      ruleFor('privateKey', 'privateKey', 'private_key_length').message,
    ],
    [
      'the terms not accepted',
      (m: NewMember) => ({ privateKey: m.privateKey, privateKeyConfirmation: m.privateKey, termsAccepted: undefined }),
      'termsAccepted',
      ruleFor('privateKey', 'termsAccepted', 'terms_not_accepted').message,
    ],
    [
      'a confirmation that differs',
      (m: NewMember) => ({ privateKey: m.privateKey, privateKeyConfirmation: 'something else' }),
      'privateKeyConfirmation',
      'The two private keys do not match.',
    ],
  ])('refuses %s beside its field and creates nobody', async (_label, values, field, message) => {
    const member = newMember('pkrule');
    const { browser, page } = await privateKeyForm(member);
    const landing = await browser.submit(page, { termsAccepted: 'yes', ...values(member) }, { stopAt: (u) => u.toString() === RETURN_TO });
    expect(landing.status).toBe(400);
    expect(fieldErrors(landing.body, field)).toContain(message);
    expect(landing.body).not.toContain(member.password);
    expect(emulator.state.members.some((m) => m.mydexid === member.mydexid)).toBe(false);
  });

  it('creates the member and PDS, then redirects to return_to exactly; the URL is then used up', async () => {
    const member = newMember('pkok');
    const { browser, page, url } = await privateKeyForm(member);
    const landing = await browser.submit(
      page,
      { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
      { stopAt: (u) => u.toString() === RETURN_TO },
    );
    expect(landing.status).toBe(0);
    expect(landing.url.toString()).toBe(RETURN_TO);
    const created = emulator.state.members.find((m) => m.mydexid === member.mydexid);
    expect(created).toMatchObject({ email: member.email, registeredThrough: 'pdx_api' });
    expect(created?.sub).toMatch(/^[0-9a-f]{64}$/);
    expect((await browser.navigate(url)).status).toBe(404);
  });

  it('answers 404 for a link it never issued', async () => {
    expect((await new ScriptedBrowser().navigate(`${emulator.url}/private-key/nope`)).status).toBe(404);
  });
});

describe('First Time Connection and updates', () => {
  let member: NewMember;
  let browser: ScriptedBrowser;

  beforeAll(async () => {
    member = newMember('ftc');
    browser = new ScriptedBrowser();
    await registerThroughPdxApi(emulator, browser, member, RETURN_TO);
  });

  it('starts /api/connection without a mydexid: the DSSA page lets a new member register there, then approve', async () => {
    const before = receiver.received.length;
    const response = await callPdx(emulator, '/api/connection', { return_to: CONNECTION_RETURN, linking_token: 'anon-1' }, bearer);
    expect(response.status).toBe(200);
    const url = (await response.json()) as string;
    const visitor = new ScriptedBrowser();
    const login = await visitor.navigate(url);
    expect(login.body).toContain('Log in to review the Data Sharing Agreement');
    expect(login.body).toContain('No MydexID yet?');
    const newcomer = newMember('dssanew');
    const form = await visitor.navigate(`${url}/register`);
    expect(form.status).toBe(200);
    const agreement = await visitor.submit(form, {
      mydexid: newcomer.mydexid,
      email: newcomer.email,
      password: newcomer.password,
      privateKey: newcomer.privateKey,
      privateKeyConfirmation: newcomer.privateKey,
      termsAccepted: 'yes',
    });
    expect(agreement.body).toContain(newcomer.mydexid);
    const landing = await visitor.submit(
      agreement,
      { privateKey: newcomer.privateKey },
      { stopAt: (u) => u.toString() === CONNECTION_RETURN },
    );
    expect(landing.url.toString()).toBe(CONNECTION_RETURN);
    const callback = await receiver.waitFor(before + 1);
    expect(callback.fields).toMatchObject({ mydexid: newcomer.mydexid, linking_token: 'anon-1' });
  });

  it('starts /api/connection without a mydexid for whichever member logs in, and offers no registration when a MydexID is named', async () => {
    const url = (await (await callPdx(emulator, '/api/connection', { return_to: CONNECTION_RETURN }, bearer)).json()) as string;
    const visitor = new ScriptedBrowser();
    const agreement = await visitor.submit(await visitor.navigate(url), { mydexid: member.mydexid, password: member.password });
    expect(agreement.body).toContain('Data Sharing Agreement');
    expect(agreement.body).toContain(member.mydexid);
    const named = (await (
      await callPdx(emulator, '/api/connection', { mydexid: member.mydexid, return_to: CONNECTION_RETURN }, bearer)
    ).json()) as string;
    expect((await new ScriptedBrowser().navigate(named)).body).not.toContain('No MydexID yet?');
    expect((await new ScriptedBrowser().navigate(`${named}/register`)).status).toBe(404);
  });

  it('refuses /api/connection/update without a mydexid, and a mydexid that is not a string', async () => {
    await expectFailure(
      await callPdx(emulator, '/api/connection/update', { return_to: CONNECTION_RETURN, version: '2' }, bearer),
      400,
      'mydexid is required.',
    );
    await expectFailure(
      await callPdx(emulator, '/api/connection', { mydexid: 42, return_to: CONNECTION_RETURN }, bearer),
      400,
      'mydexid must be a string.',
    );
  });

  it('refuses /api/connection for an unknown MydexID with 404', async () => {
    const response = await callPdx(emulator, '/api/connection', { mydexid: 'nobodyknown', return_to: CONNECTION_RETURN }, bearer);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: { message: 'Mydexid not found.' } });
  });

  it('refuses a linking_token that is not a string', async () => {
    await expectFailure(
      await callPdx(emulator, '/api/connection', { mydexid: member.mydexid, return_to: CONNECTION_RETURN, linking_token: 42 }, bearer),
      400,
      /linking_token/,
    );
  });

  it.each([
    ['missing', undefined],
    ['not a number', 'two'],
    ['zero', '0'],
  ])('refuses /api/connection/update with a version that is %s', async (_label, version) => {
    await expectFailure(
      await callPdx(emulator, '/api/connection/update', { mydexid: member.mydexid, return_to: CONNECTION_RETURN, version }, bearer),
      400,
      'version must be a positive integer.',
    );
  });

  it('refuses an update for a member who has no connection yet', async () => {
    const other = newMember('noconn');
    await registerThroughPdxApi(emulator, new ScriptedBrowser(), other, RETURN_TO);
    await expectFailure(
      await callPdx(emulator, '/api/connection/update', { mydexid: other.mydexid, return_to: CONNECTION_RETURN, version: '2' }, bearer),
      400,
      'The member has no connection to update.',
    );
  });

  it('answers 404 for a DSSA link it never issued', async () => {
    expect((await new ScriptedBrowser().navigate(`${emulator.url}/dssa/nope`)).status).toBe(404);
  });

  it('asks a member who is not logged in to log in, as the MydexID the request names', async () => {
    const other = newMember('intruder');
    await registerThroughPdxApi(emulator, new ScriptedBrowser(), other, RETURN_TO);
    const url = (await (
      await callPdx(emulator, '/api/connection', { mydexid: member.mydexid, return_to: CONNECTION_RETURN }, bearer)
    ).json()) as string;
    const stranger = new ScriptedBrowser();
    const login = await stranger.navigate(url);
    expect(login.body).toContain('Log in to review the Data Sharing Agreement');
    const wrongPassword = await stranger.submit(login, { mydexid: member.mydexid, password: 'not the password' });
    expect(wrongPassword.status).toBe(400);
    expect(fieldErrors(wrongPassword.body, 'password')).toEqual(['The MydexID or password is incorrect.']);
    const someoneElse = await stranger.submit(login, { mydexid: other.mydexid, password: other.password });
    expect(someoneElse.status).toBe(400);
    expect(fieldErrors(someoneElse.body, 'mydexid')[0]).toMatch(/This agreement is for the MydexID/);
    // Approving without logging in is refused too.
    const approve = await stranger.request(`${url}/approve`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `privateKey=${encodeURIComponent(member.privateKey)}`,
    });
    expect(approve.status).toBe(401);
    expect(receiver.received.every((r) => r.fields.mydexid !== member.mydexid)).toBe(true);
  });

  it('refuses a wrong private key on the DSSA and sends no callback', async () => {
    const before = receiver.received.length;
    const url = (await (
      await callPdx(emulator, '/api/connection', { mydexid: member.mydexid, return_to: CONNECTION_RETURN }, bearer)
    ).json()) as string;
    const page = await browser.navigate(url);
    expect(page.body).toContain('Data Sharing Agreement');
    const refused = await browser.submit(page, { privateKey: 'not my private key' });
    expect(refused.status).toBe(400);
    expect(fieldErrors(refused.body, 'privateKey')).toEqual(['The private key is incorrect.']);
    expect(receiver.received.length).toBe(before);
  });

  it('approval POSTs the callback (form-encoded, Authentication = SHA-512 of the connection token) and redirects to return_to', async () => {
    const before = receiver.received.length;
    const response = await callPdx(
      emulator,
      '/api/connection',
      { mydexid: member.mydexid, return_to: CONNECTION_RETURN, linking_token: 'reg-123' },
      bearer,
    );
    expect(response.status).toBe(200);
    const url = (await response.json()) as string;
    expect(url).toMatch(new RegExp(`^${emulator.url}/dssa/`));
    const page = await browser.navigate(url);
    expect(pageText(page.body)).toContain('field_ds_personal_details');
    const landing = await browser.submit(page, { privateKey: member.privateKey }, { stopAt: (u) => u.toString() === CONNECTION_RETURN });
    expect(landing.url.toString()).toBe(CONNECTION_RETURN);

    const callback = await receiver.waitFor(before + 1);
    const uid = emulator.state.members.find((m) => m.mydexid === member.mydexid)!.uid;
    const connectionId = `${uid}-${emulator.options.connectionNid}`;
    expect(callback.method).toBe('POST');
    expect(callback.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(callback.headers.authentication).toBe(sha512Hex(emulator.options.connectionToken));
    expect(callback.fields).toMatchObject({
      uid: String(uid),
      mydexid: member.mydexid,
      connection_id: connectionId,
      linking_token: 'reg-123',
    });
    expect(callback.fields.key).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(callback.fields.key).toBe(emulator.connectionKey(connectionId));
    expect(callback.raw).toContain(encodeURIComponent('fields[field_ds_personal_details][0][][access][r][a]') + '=1');
    expect(callback.fields.fields).toEqual({
      field_ds_personal_details: [[{ access: { r: { a: '1', s: 'A' } } }]],
      field_ds_contact_details: [[{ access: { r: { a: '1', s: 'A' }, w: { a: '1', s: 'R' } } }]],
    });
    // Recorded, with the member key redacted.
    const delivery = emulator.state.deliveries.at(-1)!;
    expect(delivery).toMatchObject({ method: 'POST', url: receiver.url, connectionId, delivered: true });
    expect(delivery.attempts).toEqual([expect.objectContaining({ status: 200 })]);
    expect(delivery.payload.key).toBe('[redacted]');
    expect(JSON.stringify(emulator.state)).not.toContain(callback.fields.key as string);
    expect(emulator.state.connections.find((c) => c.connectionId === connectionId)).toMatchObject({ version: 1, linkingToken: 'reg-123' });
    // One-time: the DSSA link is used up.
    expect((await browser.navigate(url)).status).toBe(404);
  });

  it('an update (version 2) PUTs the callback with the same key and the new dataset', async () => {
    const before = receiver.received.length;
    const uid = emulator.state.members.find((m) => m.mydexid === member.mydexid)!.uid;
    const connectionId = `${uid}-${emulator.options.connectionNid}`;
    const key = emulator.connectionKey(connectionId);
    const response = await callPdx(
      emulator,
      '/api/connection/update',
      { mydexid: member.mydexid, return_to: CONNECTION_RETURN, version: '2' },
      bearer,
    );
    expect(response.status).toBe(200);
    const landing = await approveDssa(browser, (await response.json()) as string, member, {
      stopAt: (u) => u.toString() === CONNECTION_RETURN,
    });
    expect(landing.url.toString()).toBe(CONNECTION_RETURN);
    const callback = await receiver.waitFor(before + 1);
    expect(callback.method).toBe('PUT');
    expect(callback.headers.authentication).toBe(sha512Hex(emulator.options.connectionToken));
    expect(callback.fields).toMatchObject({ connection_id: connectionId, key });
    expect(Object.keys(callback.fields.fields as object)).toContain('field_ds_address_details');
    expect(emulator.state.connections.find((c) => c.connectionId === connectionId)?.version).toBe(2);
  });

  it('skips the DSSA login for a member who registered through the LaCa in this browser, until they log out at the OP', async () => {
    const viaOidc = newMember('ssodssa');
    const oidcBrowser = new ScriptedBrowser();
    const request = authorizationRequest(emulator, { action: 'register' });
    const back = await registerThroughLaca(oidcBrowser, request.url, viaOidc, { stopAt: (u) => u.toString().startsWith(REDIRECT_URI) });
    const tokens = await exchangeCode(emulator, codeFrom(back).code, request);
    const start = async () =>
      (await (
        await callPdx(emulator, '/api/connection', { mydexid: viaOidc.mydexid, return_to: CONNECTION_RETURN }, bearer)
      ).json()) as string;

    const agreement = await oidcBrowser.navigate(await start());
    expect(agreement.body).toContain('Datasets requested');

    const logout = new URL(`${emulator.issuer}/oauth2/sessions/logout`);
    logout.searchParams.set('id_token_hint', tokens.id_token);
    await completeLogout(oidcBrowser, logout);
    const login = await oidcBrowser.navigate(await start());
    expect(login.body).toContain('Log in to review the Data Sharing Agreement');
  });

  it('retries a failed delivery with backoff and records every answer', async () => {
    const other = newMember('retry');
    const otherBrowser = new ScriptedBrowser();
    await registerThroughPdxApi(emulator, otherBrowser, other, RETURN_TO);
    receiver.answers.push(500, 503);
    const before = receiver.received.length;
    const url = (await (
      await callPdx(emulator, '/api/connection', { mydexid: other.mydexid, return_to: CONNECTION_RETURN }, bearer)
    ).json()) as string;
    const landing = await approveDssa(otherBrowser, url, other, { stopAt: (u) => u.toString() === CONNECTION_RETURN });
    // The browser is not held up by the failing subscriber.
    expect(landing.url.toString()).toBe(CONNECTION_RETURN);
    await receiver.waitFor(before + 3);
    const delivery = emulator.state.deliveries.find((d) => d.payload.mydexid === other.mydexid)!;
    await expect.poll(() => delivery.delivered).toBe(true);
    expect(delivery.attempts.map((a) => a.status)).toEqual([500, 503, 200]);
  });

  it('gives up after the last retry when the subscriber cannot be reached', async () => {
    const unreachable = await startEmulator({ port: 0, callbackUrl: 'http://127.0.0.1:9/callback', callbackRetryDelaysMs: [20, 20] });
    try {
      const other = newMember('unreach');
      const otherBrowser = new ScriptedBrowser();
      await registerThroughPdxApi(unreachable, otherBrowser, other, RETURN_TO);
      const url = (await (
        await callPdx(unreachable, '/api/connection', { mydexid: other.mydexid, return_to: CONNECTION_RETURN })
      ).json()) as string;
      const landing = await approveDssa(otherBrowser, url, other, { stopAt: (u) => u.toString() === CONNECTION_RETURN });
      expect(landing.url.toString()).toBe(CONNECTION_RETURN);
      const delivery = unreachable.state.deliveries[0]!;
      await expect.poll(() => delivery.delivered).toBe(false);
      expect(delivery.attempts).toHaveLength(3);
      expect(delivery.attempts.every((a) => a.status === undefined && typeof a.error === 'string')).toBe(true);
    } finally {
      await unreachable.close();
    }
  });
});

describe('faults (setFaults)', () => {
  it('answers every PDX call with the status asked for', async () => {
    emulator.setFaults({ pdxStatus: 503 });
    const response = await fetch(`${emulator.url}/access-token/${emulator.options.connectionNid}`);
    expect(response.status).toBe(503);
    expect(await response.json()).toEqual({ error: { message: expect.any(String) } });
  });

  it('answers garbage that is not JSON', async () => {
    emulator.setFaults({ pdxGarbage: true });
    const response = await fetch(`${emulator.url}/access-token/${emulator.options.connectionNid}`);
    expect(response.status).toBe(200);
    await expect(response.clone().json()).rejects.toThrow();
  });

  it('delays every PDX answer', async () => {
    emulator.setFaults({ pdxDelayMs: 300 });
    const started = Date.now();
    const response = await fetch(`${emulator.url}/access-token/${emulator.options.connectionNid}`);
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('leaves the OIDC provider alone', async () => {
    emulator.setFaults({ pdxStatus: 500 });
    expect((await fetch(`${emulator.issuer}/.well-known/openid-configuration`)).status).toBe(200);
  });

  it('clears the faults with setFaults({})', async () => {
    emulator.setFaults({ pdxStatus: 500 });
    emulator.setFaults({});
    expect((await fetch(`${emulator.url}/access-token/${emulator.options.connectionNid}`)).status).toBe(200);
  });
});
