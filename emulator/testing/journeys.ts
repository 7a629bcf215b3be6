import { createHash, randomBytes } from 'node:crypto';
import type { RunningEmulator } from '../emulator.js';
import { sha512Hex } from '../secrets.js';
import { ScriptedBrowser, type FollowOptions, type Landing } from './scripted-browser.js';

/**
 * Journeys through the emulator for end-to-end tests: a member registering or logging in at the
 * LaCa, a hand-made OIDC client (PKCE S256), and the subscriber side of the PDX API.
 */

export interface NewMember {
  mydexid: string;
  email: string;
  password: string;
  privateKey: string;
}

let counter = 0;

/** A valid, unique member for one test. */
export function newMember(prefix = 'member'): NewMember {
  const n = `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString('hex')}`;
  const mydexid = `${prefix.replace(/[^A-Za-z0-9]/g, '')}${n}`.slice(0, 60);
  return { mydexid, email: `${mydexid}@example.org`, password: `pw-${n}-secret`, privateKey: `pk-${n}-private` };
}

/** Follows `startUrl` (e.g. an authorization URL, or the BFF's authorize route) to the LaCa page. */
async function toLaca(browser: ScriptedBrowser, startUrl: string | URL): Promise<Landing> {
  const page = await browser.navigate(startUrl);
  if (!/\/interaction\/[^/]+$/.test(page.url.pathname)) {
    throw new Error(`Expected the LaCa page, landed on ${page.url} (${page.status})`);
  }
  return page;
}

/**
 * Registers `member` through the LaCa registration form (the OIDC `action=register` journey): from
 * `startUrl` to the form, fills it in, and follows the redirects back (stopping at `stopAt`, e.g. the
 * client's redirect URI). Returns the last landing.
 */
export async function registerThroughLaca(
  browser: ScriptedBrowser,
  startUrl: string | URL,
  member: NewMember,
  options: FollowOptions = {},
): Promise<Landing> {
  let page = await toLaca(browser, startUrl);
  if (!page.body.includes('name="privateKeyConfirmation"'))
    page = await browser.navigate(`${page.url.origin}${page.url.pathname}?view=register`);
  return browser.submit(page, lacaRegistrationFields(member), options);
}

/** The LaCa registration form, filled in for `member` with the terms accepted. */
export function lacaRegistrationFields(member: NewMember): Record<string, string> {
  return {
    mydexid: member.mydexid,
    email: member.email,
    password: member.password,
    privateKey: member.privateKey,
    privateKeyConfirmation: member.privateKey,
    termsAccepted: 'yes',
  };
}

/** Logs in at the LaCa login form from `startUrl` and follows the redirects back. */
export async function completeLogin(
  browser: ScriptedBrowser,
  startUrl: string | URL,
  credentials: { mydexid: string; password: string },
  options: FollowOptions = {},
): Promise<Landing> {
  const page = await toLaca(browser, startUrl);
  return browser.submit(page, { mydexid: credentials.mydexid, password: credentials.password }, options);
}

/** Confirms an end-session (logout) page reached from `endSessionUrl` and follows the redirects. */
export async function completeLogout(browser: ScriptedBrowser, endSessionUrl: string | URL, options: FollowOptions = {}): Promise<Landing> {
  const page = await browser.navigate(endSessionUrl, {}, options);
  if (page.status === 0) return page;
  // The page's only form; its "Log out" button (name=logout, value=yes) sits outside it (form= attribute).
  return browser.submit(page, { logout: 'yes' }, { ...options, formIndex: 0 });
}

// --- A hand-made OIDC client -------------------------------------------------------------------

export interface AuthorizationRequest {
  url: URL;
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
}

function pkcePair(): { codeVerifier: string; codeChallenge: string } {
  const codeVerifier = randomBytes(32).toString('base64url');
  return { codeVerifier, codeChallenge: createHash('sha256').update(codeVerifier).digest('base64url') };
}

/** An authorization URL for the emulator's configured client: code flow, PKCE S256, state and nonce. */
export function authorizationRequest(
  emulator: RunningEmulator,
  extra: { action?: string; email?: string; scope?: string; prompt?: string; redirectUri?: string } = {},
): AuthorizationRequest {
  const { codeVerifier, codeChallenge } = pkcePair();
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const redirectUri = extra.redirectUri ?? emulator.options.redirectUris[0]!;
  const url = new URL('/oauth2/auth', emulator.issuer);
  const params: Record<string, string | undefined> = {
    client_id: emulator.options.clientId,
    response_type: 'code',
    scope: extra.scope ?? 'openid mydexid',
    redirect_uri: redirectUri,
    state,
    nonce,
    code_challenge: codeChallenge,
    code_challenge_method: 'S256',
    action: extra.action,
    email: extra.email,
    prompt: extra.prompt,
  };
  for (const [name, value] of Object.entries(params)) if (value !== undefined) url.searchParams.set(name, value);
  return { url, state, nonce, codeVerifier, redirectUri };
}

export function basicAuth(clientId: string, clientSecret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
}

export interface TokenSet {
  access_token: string;
  id_token: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

/** The authorization-code exchange at /oauth2/token (client_secret_basic). Throws on a non-200 answer. */
export async function exchangeCode(emulator: RunningEmulator, code: string, request: AuthorizationRequest): Promise<TokenSet> {
  const response = await fetch(`${emulator.issuer}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: basicAuth(emulator.options.clientId, emulator.options.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      redirect_uri: request.redirectUri,
      code_verifier: request.codeVerifier,
    }),
  });
  const body = (await response.json()) as TokenSet;
  if (response.status !== 200) throw new Error(`Token exchange failed: ${response.status} ${JSON.stringify(body)}`);
  return body;
}

/** The code (and state) the provider sent back to the redirect URI, from a landing stopped there. */
export function codeFrom(landing: Landing): { code: string; state: string | null } {
  const code = landing.url.searchParams.get('code');
  if (!code)
    throw new Error(
      `No code in ${landing.url} (error=${landing.url.searchParams.get('error')}: ${landing.url.searchParams.get('error_description')})`,
    );
  return { code, state: landing.url.searchParams.get('state') };
}

export async function userinfo(emulator: RunningEmulator, accessToken: string): Promise<Record<string, unknown>> {
  const response = await fetch(`${emulator.issuer}/userinfo`, { headers: { authorization: `Bearer ${accessToken}` } });
  if (response.status !== 200) throw new Error(`UserInfo failed: ${response.status}`);
  return (await response.json()) as Record<string, unknown>;
}

// --- The subscriber's side of the PDX API --------------------------------------------------------

/** A client-credentials token with `mydex:pdx` (or the scope given). */
export async function pdxAccessToken(emulator: RunningEmulator, scope = 'mydex:pdx'): Promise<string> {
  const response = await fetch(`${emulator.issuer}/oauth2/token`, {
    method: 'POST',
    headers: {
      authorization: basicAuth(emulator.options.clientId, emulator.options.clientSecret),
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  const body = (await response.json()) as { access_token?: string };
  if (response.status !== 200 || !body.access_token)
    throw new Error(`client_credentials failed: ${response.status} ${JSON.stringify(body)}`);
  return body.access_token;
}

export async function shortAccessToken(emulator: RunningEmulator): Promise<string> {
  const response = await fetch(`${emulator.url}/access-token/${emulator.options.connectionNid}`);
  if (response.status !== 200) throw new Error(`access-token failed: ${response.status}`);
  return (await response.json()) as string;
}

/**
 * A PDX API call made exactly as Mydex expects: Bearer token, a fresh Short-Access-Token, its
 * Authentication hash, and the connection fields added to `fields`. Returns the raw response.
 */
export async function callPdx(
  emulator: RunningEmulator,
  path: string,
  fields: Record<string, unknown>,
  bearer?: string,
): Promise<Response> {
  const token = bearer ?? (await pdxAccessToken(emulator));
  const short = await shortAccessToken(emulator);
  return fetch(`${emulator.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'short-access-token': short,
      authentication: sha512Hex(short + emulator.options.connectionToken),
      'content-type': 'application/json',
    },
    body: JSON.stringify({
      connection_nid: emulator.options.connectionNid,
      connection_token_hash: sha512Hex(emulator.options.connectionToken),
      ...fields,
    }),
  });
}

/**
 * A member registered the own-form way, entirely over HTTP: `POST /api/pds`, then the Private Key
 * form in `browser` (so the browser is logged in at Mydex afterwards). Returns the landing at
 * `returnTo` (not fetched).
 */
export async function registerThroughPdxApi(
  emulator: RunningEmulator,
  browser: ScriptedBrowser,
  member: NewMember,
  returnTo = 'http://localhost:3000/v1/registrations/return',
): Promise<Landing> {
  const response = await callPdx(emulator, '/api/pds', {
    mydexid: member.mydexid,
    email: member.email,
    password: member.password,
    return_to: returnTo,
  });
  const body = (await response.json()) as unknown;
  if (response.status !== 200 || typeof body !== 'string') throw new Error(`/api/pds failed: ${response.status} ${JSON.stringify(body)}`);
  const form = await browser.navigate(body);
  return browser.submit(
    form,
    { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
    { stopAt: (url) => url.toString() === new URL(returnTo).toString() },
  );
}

/**
 * Approves a DSSA one-time URL in `browser`: logs in first when the page asks for it, then enters
 * the private key. Returns the landing at `stopAt` (e.g. the subscriber's return_to).
 */
export async function approveDssa(
  browser: ScriptedBrowser,
  dssaUrl: string,
  member: NewMember,
  options: FollowOptions = {},
): Promise<Landing> {
  let page = await browser.navigate(dssaUrl);
  if (page.status !== 200) throw new Error(`DSSA page answered ${page.status}`);
  if (!page.body.includes('name="privateKey"')) {
    page = await browser.submit(page, { mydexid: member.mydexid, password: member.password });
  }
  return browser.submit(page, { privateKey: member.privateKey }, options);
}
