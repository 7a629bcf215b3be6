import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type ConsoleMessage, type Page } from 'playwright-core';
import { startEmulator, type RunningEmulator } from '../../../emulator/emulator.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { freePort } from '../../../emulator/testing/free-port.js';

/** Debian's Chromium (apt-get install chromium): nothing here downloads a browser. */
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Screenshots of every step: test/artifacts/<journey>/<nn>-<step>.png (ignored by git). */
export const ARTIFACTS = join(import.meta.dirname, '..', '..', 'artifacts');

/** How Chromium reports an HTTP error answer to fetch or a navigation in the console. */
const FAILED_LOAD = /^Failed to load resource: the server responded with a status of (\d{3})/;

export interface Stack {
  /** The BFF's own URL, which is also the SPA's origin (FRONTEND_ORIGINS). */
  bffUrl: string;
  bff: TestApp;
  emulator: RunningEmulator;
  /** The emulator's log lines, printed when a journey fails. */
  emulatorLog: string[];
}

export interface Journey {
  stack: Stack;
  page: Page;
  /** Saves a full-page screenshot as the next numbered step and answers its path. */
  shot(step: string): Promise<string>;
  /** The SPA, once its first render is done. */
  openSpa(path?: string): Promise<void>;
  /**
   * Allows Chromium's console line for one expected HTTP error answer (e.g. 401 from /v1/session when
   * logged out, 422 from a refused registration): the page handles those, so they are not faults.
   */
  allowHttpError(path: string, status: number): void;
  /** Console errors, uncaught exceptions and failed requests seen so far (minus the allowed HTTP errors). */
  problems(): string[];
  screenshots: string[];
  close(): Promise<void>;
}

/**
 * The emulator (a random port) and the BFF (a port chosen first) pointed at each other: the
 * emulator's redirect URIs, post-logout URIs and callback URL are the BFF's, and the BFF's issuer
 * and PDX API are the emulator. Connection and client credentials are the shared development ones.
 */
export async function startStack(): Promise<Stack> {
  const port = await freePort();
  const bffUrl = `http://127.0.0.1:${port}`;
  const emulatorLog: string[] = [];
  const emulator = await startEmulator({
    port: 0,
    host: '127.0.0.1',
    publicUrl: undefined,
    redirectUris: [`${bffUrl}/v1/auth/oidc/callback`],
    postLogoutRedirectUris: [bffUrl, `${bffUrl}/`],
    callbackUrl: `${bffUrl}/v1/connections/callback`,
    log: (line) => emulatorLog.push(line),
  });
  try {
    const bff = await startTestApp(
      {
        PUBLIC_BASE_URL: bffUrl,
        FRONTEND_ORIGINS: bffUrl,
        MYDEX_ISSUER: emulator.issuer,
        MYDEX_PDX_URL: emulator.url,
        MYDEX_CLIENT_ID: emulator.options.clientId,
        MYDEX_CLIENT_SECRET: emulator.options.clientSecret,
        MYDEX_CONNECTION_NID: emulator.options.connectionNid,
        MYDEX_CONNECTION_TOKEN: emulator.options.connectionToken,
        MYDEX_CALLBACK_URL: emulator.options.callbackUrl,
        DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      },
      'sqlite',
      { port },
    );
    return { bffUrl, bff, emulator, emulatorLog };
  } catch (error) {
    await emulator.close();
    throw error;
  }
}

function describeConsole(message: ConsoleMessage): string {
  const where = message.location().url;
  return `console.${message.type()}: ${message.text()}${where ? ` (${where})` : ''}`;
}

/**
 * Debian's Chromium, headless. Playwright gives it a fresh temporary user-data dir and removes it on
 * close; each journey then gets its own browser context (no cookies or storage shared).
 */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
}

/** The stack, a fresh browser context, and one page that records every console error. */
export async function startJourney(browser: Browser, name: string): Promise<Journey> {
  const folder = join(ARTIFACTS, name);
  rmSync(folder, { recursive: true, force: true });
  mkdirSync(folder, { recursive: true });

  const stack = await startStack();
  const context = await browser
    .newContext({ viewport: { width: 1100, height: 900 }, locale: 'en-GB', timezoneId: 'Europe/London' })
    .catch(async (error: unknown) => {
      await stack.bff.close();
      await stack.emulator.close();
      throw error;
    });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();

  const seen: { text: string; url?: string; status?: number }[] = [];
  const allowed: { path: string; status: number }[] = [];
  page.on('console', (message) => {
    if (message.type() !== 'error') return;
    const status = FAILED_LOAD.exec(message.text())?.[1];
    seen.push({ text: describeConsole(message), url: message.location().url, status: status ? Number(status) : undefined });
  });
  page.on('pageerror', (error) => seen.push({ text: `uncaught: ${error.name}: ${error.message}` }));
  page.on('requestfailed', (request) => {
    // A navigation the page itself replaces (location.assign during a fetch) is aborted, not failed.
    if (request.failure()?.errorText === 'net::ERR_ABORTED') return;
    seen.push({ text: `request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}` });
  });

  const screenshots: string[] = [];
  const journey: Journey = {
    stack,
    page,
    screenshots,
    async shot(step) {
      const file = join(folder, `${String(screenshots.length + 1).padStart(2, '0')}-${step}.png`);
      await page.screenshot({ path: file, fullPage: true });
      screenshots.push(file);
      return file;
    },
    async openSpa(path = '/') {
      await page.goto(`${stack.bffUrl}${path}`);
      await page.locator('body[data-ready="true"]').waitFor();
    },
    allowHttpError(path, status) {
      allowed.push({ path, status });
    },
    problems() {
      return seen
        .filter((entry) => {
          if (entry.status === undefined || entry.url === undefined) return true;
          const path = new URL(entry.url).pathname;
          // The browser's own favicon request on the emulator's pages (Mydex's side), not a page fault.
          if (path === '/favicon.ico' && entry.status === 404) return false;
          return !allowed.some((a) => a.status === entry.status && a.path === path);
        })
        .map((entry) => entry.text);
    },
    async close() {
      await context.close().catch(() => undefined);
      await stack.bff.close();
      await stack.emulator.close();
    },
  };
  return journey;
}
