import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { mydexConfig } from '../config/mydex.config.js';
import type { oidcConfig } from '../config/oidc.config.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MydexOidcProvider } from './mydex-oidc-provider.js';

type MydexSettings = ReturnType<typeof mydexConfig>;
type OidcSettings = ReturnType<typeof oidcConfig>;

describe('MydexOidcProvider while discovery fails', () => {
  let server: Server;
  let issuer: string;
  let discoveries = 0;
  beforeAll(async () => {
    server = createServer((_request, response) => {
      discoveries++;
      response.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const provider = (overrides: Partial<OidcSettings['overrides']>) =>
    new MydexOidcProvider({ issuer } as unknown as MydexSettings, { timeoutMs: 2000, callbackUrl: `${issuer}/cb`, overrides } as OidcSettings);

  it('uses the configured endpoints and does not ask again on every request', async () => {
    discoveries = 0;
    const configured = provider({
      authorizationEndpoint: `${issuer}/auth`,
      tokenEndpoint: `${issuer}/token`,
      userinfoEndpoint: `${issuer}/userinfo`,
      jwksUri: `${issuer}/jwks`,
    });
    const first = await configured.metadata();
    expect(first.authorizationEndpoint).toBe(`${issuer}/auth`);
    for (let i = 0; i < 5; i++) expect(await configured.metadata()).toBe(first);
    expect(discoveries).toBe(1);
  });

  it('answers 503 upstream_unavailable when no endpoints are configured', async () => {
    const unconfigured = provider({});
    await expect(unconfigured.metadata()).rejects.toBeInstanceOf(ProblemException);
    await expect(unconfigured.metadata()).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});

describe('MydexOidcProvider with a discovery document naming another issuer', () => {
  let server: Server;
  let issuer: string;
  let discoveries = 0;
  beforeAll(async () => {
    server = createServer((_request, response) => {
      discoveries++;
      const elsewhere = 'https://elsewhere.example';
      response.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          issuer: elsewhere,
          authorization_endpoint: `${elsewhere}/auth`,
          token_endpoint: `${elsewhere}/token`,
          userinfo_endpoint: `${elsewhere}/userinfo`,
          jwks_uri: `${elsewhere}/jwks`,
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const provider = (overrides: Partial<OidcSettings['overrides']>) =>
    new MydexOidcProvider({ issuer } as unknown as MydexSettings, { timeoutMs: 2000, callbackUrl: `${issuer}/cb`, overrides } as OidcSettings);

  it('refuses it for the relying party: 503 upstream_unavailable without configured endpoints, else only the configured ones', async () => {
    await expect(provider({}).metadata()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    const configured = await provider({
      authorizationEndpoint: `${issuer}/auth`,
      tokenEndpoint: `${issuer}/token`,
      userinfoEndpoint: `${issuer}/userinfo`,
      jwksUri: `${issuer}/jwks`,
    }).metadata();
    expect(configured).toMatchObject({ issuer, authorizationEndpoint: `${issuer}/auth`, tokenEndpoint: `${issuer}/token` });
    expect(JSON.stringify(configured)).not.toContain('elsewhere');
  });

  it('refuses it for the client-credentials token: {issuer}/oauth2/token, never the document\'s token_endpoint', async () => {
    discoveries = 0;
    expect(await provider({}).tokenEndpoint()).toBe(`${issuer}/oauth2/token`);
    expect(discoveries).toBe(1);
  });

  it('answers MYDEX_TOKEN_URL for the client-credentials token without asking discovery', async () => {
    discoveries = 0;
    expect(await provider({ tokenEndpoint: `${issuer}/configured-token` }).tokenEndpoint()).toBe(`${issuer}/configured-token`);
    expect(discoveries).toBe(0);
  });
});
