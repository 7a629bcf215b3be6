import { startBffStack, type BffStack } from './support/bff-stack.js';
import { Logger } from '@nestjs/common';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { atFrontendOrApp, countRows, FRONTEND_ORIGIN, redirectError, startWebFlow } from './support/oidc-browser.js';

const RETURN_TO = `${FRONTEND_ORIGIN}/welcome?from=mydex`;

/**
 * A callback carrying `error` is the provider's refusal however it is spelled: a repeated `error`
 * parameter (an array in the parsed query) is refused from the query alone, as a single one is,
 * and never reaches passport (which would log an error any client could trigger).
 */
describe('OIDC callback with an error parameter', () => {
  let stack: BffStack;
  beforeAll(async () => {
    stack = await startBffStack();
  });
  afterAll(async () => stack?.close());
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it.each<[string, string[]]>([
    ['a single error', ['server_error']],
    ['a repeated error', ['a', 'b']],
    ['a repeated access_denied', ['access_denied', 'access_denied']],
  ])('answers %s with provider_error and uses the transaction up', async (_name, errors) => {
    const browser = new ScriptedBrowser();
    const { authorizationUrl } = await startWebFlow(browser, stack.a.url, { intent: 'register', returnTo: RETURN_TO });
    const state = new URL(authorizationUrl).searchParams.get('state')!;
    const callback = new URL(`${stack.publicBaseUrl}/v1/auth/oidc/callback`);
    // A code alongside the error: without the early refusal, passport would go on to run.
    callback.search = new URLSearchParams([
      ...errors.map((error): [string, string] => ['error', error]),
      ['code', 'not-a-real-code'],
      ['state', state],
      ['iss', stack.emulator.issuer],
    ]).toString();

    const loggedErrors = vi.spyOn(Logger.prototype, 'error');
    const sessions = await countRows(stack.a.app, 'sessions');
    const registrations = await countRows(stack.a.app, 'registrations');
    const landing = await browser.navigate(callback, {}, { stopAt: atFrontendOrApp });
    expect(redirectError(landing.url.href)).toEqual({ error: 'provider_error', base: RETURN_TO });
    expect(loggedErrors).not.toHaveBeenCalled();
    expect(await countRows(stack.a.app, 'sessions')).toBe(sessions);
    expect(await countRows(stack.a.app, 'registrations')).toBe(registrations);
    expect(browser.jar.get('bff_session', stack.a.url)).toBeUndefined();

    // The transaction was consumed: the same callback again is a replay.
    const replay = await browser.navigate(callback, {}, { stopAt: atFrontendOrApp });
    expect(redirectError(replay.url.href)).toEqual({ error: 'state_reused', base: RETURN_TO });
  });
});
