import { startBffStack, type BffStack } from './support/bff-stack.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { countRows, FRONTEND_ORIGIN, NATIVE_REDIRECT_URI } from './support/oidc-browser.js';

/** Open-redirect attempts: each must be refused before any transaction exists. */
const OFF_ALLOWLIST = [
  '//evil.example',
  '//evil.example/welcome',
  'https://evil.example',
  'https://evil.example/https://app.example/',
  'HTTPS://EVIL.EXAMPLE/',
  'https://APP.example.evil.example/',
  '/\\evil.example',
  '\\\\evil.example',
  'javascript:alert(1)',
  'JavaScript:alert(document.cookie)',
  'javascript%3Aalert(1)',
  '%2F%2Fevil.example',
  'https:%2F%2Fevil.example',
  '/%09/evil.example'.replace('%09', '\t'),
  'https://localhost:3000@evil.example',
  'https://app.example@evil.example',
  'https://app.example%2F@evil.example',
  'http://app.example/',
  'https://app.example:8443/',
  'data:text/html,hi',
];

describe('starting delegated registration or login (POST and GET /v1/auth/oidc/authorize)', () => {
  let stack: BffStack;
  let bff: string;
  beforeAll(async () => {
    stack = await startBffStack();
    bff = stack.a.url;
  });
  afterAll(async () => stack?.close());

  const post = (body: unknown) =>
    fetch(`${bff}/v1/auth/oidc/authorize`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  it('answers the authorization URL with state, nonce, PKCE S256 and only the allowed extra parameters', async () => {
    const response = await post({
      intent: 'register',
      email: '  someone@example.org ',
      returnTo: `${FRONTEND_ORIGIN}/x`,
      prompt: 'none',
      acr_values: 'x',
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const cookie = response.headers.getSetCookie().find((value) => value.startsWith('bff_oidc='))!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).toMatch(/Path=\//);
    expect(cookie).toMatch(/Max-Age=600/);
    const { authorizationUrl } = (await response.json()) as { authorizationUrl: string };
    const url = new URL(authorizationUrl);
    expect(url.origin + url.pathname).toBe(`${stack.emulator.issuer}/oauth2/auth`);
    expect([...url.searchParams.keys()].sort()).toEqual(
      [
        'action',
        'client_id',
        'code_challenge',
        'code_challenge_method',
        'email',
        'nonce',
        'redirect_uri',
        'response_type',
        'scope',
        'state',
      ].sort(),
    );
    expect(url.searchParams.get('email')).toBe('someone@example.org');
    expect(url.searchParams.get('scope')).toBe('openid mydexid');
    expect(url.searchParams.get('redirect_uri')).toBe(`${stack.publicBaseUrl}/v1/auth/oidc/callback`);
    expect(url.searchParams.get('state')).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('redirects a browser navigation (GET) to Mydex with the binding cookie', async () => {
    const browser = new ScriptedBrowser();
    const response = await browser.request(
      `${bff}/v1/auth/oidc/authorize?intent=login&returnTo=${encodeURIComponent(`${FRONTEND_ORIGIN}/in`)}`,
    );
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toMatch(new RegExp(`^${stack.emulator.issuer}/oauth2/auth\\?`));
    expect(browser.jar.get('bff_oidc', bff)).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('keeps one binding cookie per browser, so two flows started in two tabs can both finish', async () => {
    const browser = new ScriptedBrowser();
    await browser.request(`${bff}/v1/auth/oidc/authorize?intent=login`);
    const first = browser.jar.get('bff_oidc', bff);
    await browser.request(`${bff}/v1/auth/oidc/authorize?intent=register`);
    expect(browser.jar.get('bff_oidc', bff)).toBe(first);
  });

  it.each(OFF_ALLOWLIST)('refuses returnTo %j with 400 return_to_not_allowed and stores nothing', async (returnTo) => {
    const before = await countRows(stack.a.app, 'oidc_transactions');
    for (const response of [
      await post({ intent: 'login', returnTo }),
      await fetch(`${bff}/v1/auth/oidc/authorize?intent=login&returnTo=${encodeURIComponent(returnTo)}`, { redirect: 'manual' }),
    ]) {
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.headers.getSetCookie()).toEqual([]);
      expect(await response.json()).toMatchObject({
        code: 'return_to_not_allowed',
        errors: [{ field: 'returnTo', code: 'return_to_not_allowed' }],
      });
    }
    expect(await countRows(stack.a.app, 'oidc_transactions')).toBe(before);
  });

  it.each([
    'com.evil.app:/oauth/callback',
    `${NATIVE_REDIRECT_URI}/`,
    `${NATIVE_REDIRECT_URI}?x=1`,
    'COM.EXAMPLE.APP:/oauth/callback',
    'https://evil.example/cb',
    '',
  ])('refuses appRedirectUri %j', async (appRedirectUri) => {
    const response = await post({ intent: 'login', client: 'native', appRedirectUri });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'return_to_not_allowed', errors: [{ field: 'appRedirectUri' }] });
  });

  it('refuses a native start without appRedirectUri, and a native start by navigation (it could not receive the exchange secret)', async () => {
    expect((await post({ intent: 'login', client: 'native' })).status).toBe(400);
    const navigation = await fetch(
      `${bff}/v1/auth/oidc/authorize?intent=login&client=native&appRedirectUri=${encodeURIComponent(NATIVE_REDIRECT_URI)}`,
      { redirect: 'manual' },
    );
    expect(navigation.status).toBe(400);
    expect(((await navigation.json()) as { code: string }).code).toBe('invalid_request');
  });

  it('refuses bad fields with 422 and their codes', async () => {
    const response = await post({ intent: 'signup', client: 'tv', email: 'not-an-email' });
    expect(response.status).toBe(422);
    const body = (await response.json()) as { errors: { field: string; code: string }[] };
    expect(body.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ field: 'intent', code: 'intent_invalid' }),
        expect.objectContaining({ field: 'client', code: 'client_invalid' }),
        expect.objectContaining({ field: 'email', code: 'email_invalid' }),
      ]),
    );
    const mixed = await post({ intent: 'login', returnTo: `${FRONTEND_ORIGIN}/`, appRedirectUri: NATIVE_REDIRECT_URI });
    expect(mixed.status).toBe(422);
    expect(((await mixed.json()) as { errors: { field: string }[] }).errors[0]!.field).toBe('appRedirectUri');
  });

  it('answers a callback with no transaction at all on the default frontend address', async () => {
    const response = await fetch(`${bff}/v1/auth/oidc/callback?code=abc`, { redirect: 'manual' });
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe(`${FRONTEND_ORIGIN}/?error=state_invalid`);
  });
});
