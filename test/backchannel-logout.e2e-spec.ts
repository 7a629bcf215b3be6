import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionsService } from '../src/session/sessions.service.js';
import { startTestApp, type TestApp } from './support/app.js';
import { ENGINES } from './support/database.js';
import { startLogoutTokenIssuer, type LogoutTokenIssuer } from './support/logout-token-issuer.js';

const ROUTE = '/v1/auth/oidc/backchannel-logout';

/**
 * OpenID Connect Back-Channel Logout 1.0 at the BFF, against a provider whose signing key the test
 * holds: each malformed logout token is refused (400 logout_token_invalid) and ends nothing; a valid
 * one ends the sessions it names, once. The end-to-end journey with the emulator is in
 * oidc-web.e2e-spec.ts and oidc-native.e2e-spec.ts.
 */
describe.each(ENGINES)('back-channel logout on %s', (engine) => {
  let issuer: LogoutTokenIssuer;
  let bff: TestApp;
  let counter = 0;
  beforeAll(async () => {
    issuer = await startLogoutTokenIssuer();
    bff = await startTestApp(
      { MYDEX_ISSUER: issuer.issuer, MYDEX_CLIENT_ID: issuer.clientId, MYDEX_CLIENT_SECRET: 'backchannel-test-secret' },
      engine,
    );
  });
  afterAll(async () => {
    await bff?.close();
    await issuer?.close();
  });

  /** A web session at the BFF for a member of this provider; answers its cookie value. */
  async function session(sub: string, sid: string | null = null, iss = issuer.issuer): Promise<string> {
    const { token } = await bff.app.get(SessionsService).create({ client: 'web', issuer: iss, sub, mydexid: null, idToken: null, sid });
    return token;
  }
  const alive = async (token: string) =>
    (await fetch(`${bff.url}/v1/session`, { headers: { cookie: `bff_session=${token}` } })).status === 200;
  const newSub = () => `sub-${Date.now().toString(36)}-${counter++}`;
  const post = (body: string, contentType = 'application/x-www-form-urlencoded') =>
    fetch(`${bff.url}${ROUTE}`, { method: 'POST', headers: { 'content-type': contentType }, body });
  const send = (token: string) => post(new URLSearchParams({ logout_token: token }).toString());

  async function expectRefused(response: Response, code = 'logout_token_invalid'): Promise<void> {
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(((await response.json()) as { code: string }).code).toBe(code);
  }

  it('ends every session of the sub (no sid): 200, Cache-Control: no-store, an empty body', async () => {
    const sub = newSub();
    const [a, b] = [await session(sub, 'sid-a'), await session(sub, null)];
    const other = await session(newSub());
    const response = await send(await issuer.sign({ sub }));
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toBe('');
    expect(await alive(a)).toBe(false);
    expect(await alive(b)).toBe(false);
    expect(await alive(other)).toBe(true);
  });

  it('with sub and sid, ends the sessions of that Mydex session (and those whose sid is unknown), not the others', async () => {
    const sub = newSub();
    const [same, unknown, elsewhere] = [await session(sub, 'sid-1'), await session(sub, null), await session(sub, 'sid-2')];
    expect((await send(await issuer.sign({ sub, sid: 'sid-1' }))).status).toBe(200);
    expect(await alive(same)).toBe(false);
    expect(await alive(unknown)).toBe(false);
    expect(await alive(elsewhere)).toBe(true);
  });

  it('with sid alone, ends the sessions of that Mydex session', async () => {
    const sid = `sid-only-${counter++}`;
    const [a, b] = [await session(newSub(), sid), await session(newSub(), 'another-sid')];
    expect((await send(await issuer.sign({ sid }))).status).toBe(200);
    expect(await alive(a)).toBe(false);
    expect(await alive(b)).toBe(true);
  });

  it('does not end a session of the same sub at another issuer', async () => {
    const sub = newSub();
    const foreign = await session(sub, null, 'https://another-issuer.example');
    expect((await send(await issuer.sign({ sub }))).status).toBe(200);
    expect(await alive(foreign)).toBe(true);
  });

  it('refuses a replayed token (the same jti) with 400, and a second token with a new jti is accepted', async () => {
    const sub = newSub();
    const token = await issuer.sign({ sub, jti: `jti-${counter++}` });
    expect((await send(token)).status).toBe(200);
    const later = await session(sub);
    await expectRefused(await send(token));
    expect(await alive(later)).toBe(true);
    expect((await send(await issuer.sign({ sub }))).status).toBe(200);
    expect(await alive(later)).toBe(false);
  });

  const refusals: [string, (sub: string) => Promise<string>][] = [
    ['a bad signature (a key not in the JWKS, claiming its kid)', (sub) => issuer.sign({ sub }, { key: 'stranger' })],
    ['alg none', (sub) => issuer.sign({ sub }, { alg: 'none' })],
    [
      'HS256 (a symmetric algorithm)',
      (sub) => issuer.sign({ sub }, { alg: 'HS256', secret: 'backchannel-test-secret-padded-to-32-bytes' }),
    ],
    ['another audience', (sub) => issuer.sign({ sub, aud: 'another-client' })],
    ['another issuer', (sub) => issuer.sign({ sub, iss: 'https://evil.example' })],
    ['a nonce (an ID token is not a logout token)', (sub) => issuer.sign({ sub, nonce: 'n-0S6_WzA2Mj' })],
    ['no events claim', (sub) => issuer.sign({ sub, events: undefined })],
    [
      'events without the back-channel logout event',
      (sub) => issuer.sign({ sub, events: { 'http://schemas.openid.net/event/other': {} } }),
    ],
    ['the event not as an object', (sub) => issuer.sign({ sub, events: { 'http://schemas.openid.net/event/backchannel-logout': 'yes' } })],
    ['neither sub nor sid', () => issuer.sign({})],
    ['no jti', (sub) => issuer.sign({ sub, jti: undefined })],
    ['no iat', (sub) => issuer.sign({ sub, iat: undefined })],
    [
      'an iat an hour old',
      (sub) => issuer.sign({ sub, iat: Math.floor(Date.now() / 1000) - 3600, exp: Math.floor(Date.now() / 1000) + 60 }),
    ],
    [
      'an iat an hour in the future',
      (sub) => issuer.sign({ sub, iat: Math.floor(Date.now() / 1000) + 3600, exp: Math.floor(Date.now() / 1000) + 3700 }),
    ],
    ['an expired token', (sub) => issuer.sign({ sub, iat: Math.floor(Date.now() / 1000) - 300, exp: Math.floor(Date.now() / 1000) - 200 })],
    ['a typ of another kind of token', (sub) => issuer.sign({ sub }, { typ: 'at+jwt' })],
    ['a sub that is not a string', () => issuer.sign({ sub: 42 })],
    ['not a JWT at all', async () => 'not-a-jwt'],
  ];

  it.each(refusals)('refuses %s with 400 logout_token_invalid and ends nothing', async (_name, make) => {
    const sub = newSub();
    const token = await session(sub, 'sid-x');
    await expectRefused(await send(await make(sub)));
    expect(await alive(token)).toBe(true);
  });

  it('refuses a body without logout_token, with it twice, or not as a form', async () => {
    const sub = newSub();
    const token = await session(sub);
    const valid = await issuer.sign({ sub });
    await expectRefused(await post(''));
    await expectRefused(await post('logout_token='));
    await expectRefused(await post(`logout_token=${valid}&logout_token=${valid}`));
    await expectRefused(await post('logout_token=%E2%82'), 'malformed_form');
    const json = await post(JSON.stringify({ logout_token: valid }), 'application/json');
    expect(json.status).toBe(415);
    expect(((await json.json()) as { code: string }).code).toBe('unsupported_media_type');
    expect(await alive(token)).toBe(true);
  });
});
