import type { RunningEmulator } from '../../emulator/emulator.js';
import type { NewMember } from '../../emulator/testing/journeys.js';
import { ScriptedBrowser, type Landing } from '../../emulator/testing/scripted-browser.js';
import { startTestApp, type TestApp } from './app.js';
import { freePort } from '../../emulator/testing/free-port.js';

/** Helpers for the own-form registration suites (own-form-*.e2e-spec.ts). */

export const FRONTEND = 'https://app.example.org';
export const OTHER_FRONTEND = 'https://other.example.org';

/** The BFF pointed at `emulator` (MYDEX_ISSUER and MYDEX_PDX_URL), listening at its PUBLIC_BASE_URL. */
export async function startBffFor(
  emulator: RunningEmulator,
  engine: 'sqlite' | 'postgres',
  env: Record<string, string> = {},
  options: { quiet?: boolean } = {},
): Promise<TestApp> {
  const port = await freePort();
  return startTestApp(
    {
      MYDEX_ISSUER: emulator.issuer,
      MYDEX_PDX_URL: emulator.url,
      PUBLIC_BASE_URL: `http://127.0.0.1:${port}`,
      FRONTEND_ORIGINS: `${FRONTEND},${OTHER_FRONTEND}`,
      ...env,
    },
    engine,
    { ...options, port },
  );
}

/** Where a response's Set-Cookie headers are (supertest and fetch answers alike). */
type WithCookies = { headers: Headers | Record<string, string | string[] | undefined> };

/** The Set-Cookie headers of a supertest or fetch response. */
export function setCookies(response: WithCookies): string[] {
  if (response.headers instanceof Headers) return response.headers.getSetCookie();
  const value = response.headers['set-cookie'];
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

/** The `name=value` pairs of a response's Set-Cookie headers, as a Cookie request header. */
export function cookieHeader(response: WithCookies): string {
  return setCookies(response)
    .map((header) => header.split(';')[0]!.trim())
    .join('; ');
}

/**
 * A scripted browser holding the cookies the BFF at `bffUrl` set on `created` (the answer to
 * `POST /v1/registrations`): the browser that created the registration.
 */
export function creatingBrowser(bffUrl: string, created: WithCookies): ScriptedBrowser {
  const browser = new ScriptedBrowser();
  for (const header of setCookies(created)) browser.jar.setCookie(new URL(`${bffUrl}/v1/registrations`), header);
  return browser;
}

/**
 * Follows privateKeyUrl through Mydex's Private Key form, back through the BFF's return route, and
 * stops at the frontend (not fetched). Returns that landing. Pass the browser that created the
 * registration (`creatingBrowser`) for the return to complete it; any other browser leaves it as it was.
 */
export async function finishAtMydex(privateKeyUrl: string, member: NewMember, browser = new ScriptedBrowser()): Promise<Landing> {
  const form = await browser.navigate(privateKeyUrl);
  if (form.status !== 200) throw new Error(`Private Key form answered ${form.status}`);
  return browser.submit(
    form,
    { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
    { stopAt: (url) => url.origin === FRONTEND || url.origin === OTHER_FRONTEND },
  );
}
