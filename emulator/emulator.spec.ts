import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LOCAL_EMULATOR } from '../src/config/environment.js';
import { defaultEmulatorOptions, startEmulator, type RunningEmulator } from './emulator.js';
import { authorizationRequest, newMember, registerThroughLaca, registerThroughPdxApi } from './testing/journeys.js';
import { ScriptedBrowser } from './testing/scripted-browser.js';

describe('defaultEmulatorOptions', () => {
  it('uses the shared development credentials and the BFF defaults when nothing is set', () => {
    expect(defaultEmulatorOptions({})).toEqual({
      port: 4000,
      host: '127.0.0.1',
      publicUrl: undefined,
      clientId: LOCAL_EMULATOR.clientId,
      clientSecret: LOCAL_EMULATOR.clientSecret,
      redirectUris: ['http://localhost:3000/v1/auth/oidc/callback'],
      postLogoutRedirectUris: ['http://localhost:3000', 'http://localhost:3000/'],
      connectionNid: LOCAL_EMULATOR.connectionNid,
      connectionToken: LOCAL_EMULATOR.connectionToken,
      callbackUrl: 'http://localhost:3000/v1/connections/callback',
    });
  });

  it('reads the same variables as the BFF, so both sides agree', () => {
    const options = defaultEmulatorOptions({
      EMULATOR_PORT: '4100',
      PUBLIC_BASE_URL: 'https://bff.example.org/',
      FRONTEND_ORIGINS: 'https://app.example.org, https://admin.example.org',
      MYDEX_CLIENT_ID: 'client-a',
      MYDEX_CLIENT_SECRET: 'secret-a',
      MYDEX_CONNECTION_NID: '777',
      MYDEX_CONNECTION_TOKEN: 'token-a',
      MYDEX_CALLBACK_URL: 'https://hooks.example.org/mydex',
    });
    expect(options).toMatchObject({
      port: 4100,
      clientId: 'client-a',
      clientSecret: 'secret-a',
      connectionNid: '777',
      connectionToken: 'token-a',
      redirectUris: ['https://bff.example.org/v1/auth/oidc/callback'],
      callbackUrl: 'https://hooks.example.org/mydex',
    });
    expect(options.postLogoutRedirectUris).toEqual(
      expect.arrayContaining(['https://bff.example.org/', 'https://app.example.org/', 'https://admin.example.org/']),
    );
  });

  it('derives the callback URL from PUBLIC_BASE_URL when MYDEX_CALLBACK_URL is unset', () => {
    expect(defaultEmulatorOptions({ PUBLIC_BASE_URL: 'http://127.0.0.1:3100' }).callbackUrl).toBe(
      'http://127.0.0.1:3100/v1/connections/callback',
    );
  });

  it.each(['abc', '70000', '-1', '40.5'])('refuses EMULATOR_PORT=%s', (port) => {
    expect(() => defaultEmulatorOptions({ EMULATOR_PORT: port })).toThrow(/EMULATOR_PORT/);
  });
});

describe('startEmulator', () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
  });

  afterAll(async () => {
    await emulator.close();
  });

  it('listens on a random port and uses http://localhost:<port> as issuer and base URL', async () => {
    expect(emulator.options.port).toBeGreaterThan(0);
    expect(emulator.url).toBe(`http://localhost:${emulator.options.port}`);
    expect(emulator.issuer).toBe(emulator.url);
    const discovery = (await (await fetch(`${emulator.url}/.well-known/openid-configuration`)).json()) as { issuer: string };
    expect(discovery.issuer).toBe(emulator.issuer);
  });

  it('uses publicUrl, without its trailing slash, as the issuer', async () => {
    const other = await startEmulator({ port: 0, publicUrl: 'http://mydex.test:4555/' });
    try {
      expect(other.issuer).toBe('http://mydex.test:4555');
      const discovery = (await (await fetch(`http://127.0.0.1:${other.options.port}/.well-known/openid-configuration`)).json()) as {
        issuer: string;
      };
      expect(discovery.issuer).toBe('http://mydex.test:4555');
    } finally {
      await other.close();
    }
  });

  it('keeps members without any secret in its state', async () => {
    const viaLaca = newMember('stateoidc');
    const viaPdx = newMember('statepdx');
    await registerThroughLaca(new ScriptedBrowser(), authorizationRequest(emulator, { action: 'register' }).url, viaLaca, {
      stopAt: (url) => url.toString().startsWith(emulator.options.redirectUris[0]!),
    });
    await registerThroughPdxApi(emulator, new ScriptedBrowser(), viaPdx);
    const printed = JSON.stringify(emulator.state);
    for (const m of [viaLaca, viaPdx]) {
      expect(printed).toContain(m.mydexid);
      expect(printed).not.toContain(m.password);
      expect(printed).not.toContain(m.privateKey);
    }
    expect(Object.keys(emulator.state.members[0]!).sort()).toEqual(['createdAt', 'email', 'mydexid', 'registeredThrough', 'sub', 'uid']);
  });

  it('gives every member a distinct 64-hex sub and uid', () => {
    const members = emulator.state.members;
    expect(new Set(members.map((m) => m.sub)).size).toBe(members.length);
    expect(new Set(members.map((m) => m.uid)).size).toBe(members.length);
    for (const m of members) expect(m.sub).toMatch(/^[0-9a-f]{64}$/);
  });

  it('answers unknown paths with 404', async () => {
    expect((await fetch(`${emulator.url}/nothing-here`)).status).toBe(404);
  });

  it('refuses to start on a port that is taken', async () => {
    await expect(startEmulator({ port: emulator.options.port, host: '127.0.0.1' })).rejects.toThrow(/EADDRINUSE/);
  });

  it('stops listening on close()', async () => {
    const other = await startEmulator({ port: 0 });
    const url = `http://127.0.0.1:${other.options.port}/.well-known/openid-configuration`;
    expect((await fetch(url)).status).toBe(200);
    await other.close();
    await expect(fetch(url)).rejects.toThrow();
  });
});
