import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { mydexConfig } from '../config/mydex.config.js';
import type { oidcConfig } from '../config/oidc.config.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MydexOidcProvider } from './mydex-oidc-provider.js';

type MydexSettings = ReturnType<typeof mydexConfig>;
type OidcSettings = ReturnType<typeof oidcConfig>;
type Handler = (request: IncomingMessage, response: ServerResponse, issuer: string) => void;

/** A local server standing in for Mydex's issuer; `handle` may be swapped by a test; `requests` counts what reached it. */
function discoveryServer(initial: Handler) {
  const state = { issuer: '', requests: 0, handle: initial };
  const server = createServer((request, response) => {
    state.requests++;
    state.handle(request, response, state.issuer);
  });
  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    state.issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  return state;
}

const provider = (issuer: string, overrides: Partial<OidcSettings['overrides']> = {}) =>
  new MydexOidcProvider(
    { issuer } as unknown as MydexSettings,
    { timeoutMs: 2000, callbackUrl: `${issuer}/cb`, overrides } as OidcSettings,
  );

/** Every endpoint the relying party needs, configured under `base`. */
const allEndpoints = (base: string) => ({
  authorizationEndpoint: `${base}/auth`,
  tokenEndpoint: `${base}/token`,
  userinfoEndpoint: `${base}/userinfo`,
  jwksUri: `${base}/jwks`,
});

const documentFor = (issuer: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    issuer,
    authorization_endpoint: `${issuer}/auth`,
    token_endpoint: `${issuer}/token`,
    userinfo_endpoint: `${issuer}/userinfo`,
    jwks_uri: `${issuer}/jwks`,
    ...extra,
  });

describe('MydexOidcProvider while discovery fails', () => {
  const mydex = discoveryServer((_request, response) => response.writeHead(500).end());

  it('uses the configured endpoints and does not ask again on every request', async () => {
    mydex.requests = 0;
    const configured = provider(mydex.issuer, allEndpoints(mydex.issuer));
    const first = await configured.metadata();
    expect(first.authorizationEndpoint).toBe(`${mydex.issuer}/auth`);
    for (let i = 0; i < 5; i++) expect(await configured.metadata()).toBe(first);
    expect(mydex.requests).toBe(1);
  });

  it('answers 503 upstream_unavailable when no endpoints are configured', async () => {
    const unconfigured = provider(mydex.issuer);
    await expect(unconfigured.metadata()).rejects.toBeInstanceOf(ProblemException);
    await expect(unconfigured.metadata()).rejects.toMatchObject({ code: 'upstream_unavailable' });
  });
});

describe('MydexOidcProvider when discovery fails after it once answered', () => {
  const mydex = discoveryServer((_request, response, issuer) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(documentFor(issuer)),
  );

  it('keeps the last good document for the relying party and the PDX token, without asking again on every call', async () => {
    const client = provider(mydex.issuer);
    const first = await client.metadata();
    // Discovery goes down, and the hour of the cached document has passed.
    mydex.handle = (_request, response) => response.writeHead(503).end();
    (client as unknown as { document: { at: number } }).document.at -= 2 * 60 * 60 * 1000;
    mydex.requests = 0;
    expect(await client.metadata()).toBe(first);
    expect(await client.tokenEndpoint()).toBe(`${mydex.issuer}/token`);
    for (let i = 0; i < 5; i++) await client.tokenEndpoint();
    expect(mydex.requests).toBe(1);
  });
});

describe('MydexOidcProvider with a discovery document naming another issuer', () => {
  const elsewhere = 'https://elsewhere.example';
  const mydex = discoveryServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(documentFor(elsewhere)),
  );

  it('refuses it for the relying party: 503 upstream_unavailable without configured endpoints, else only the configured ones', async () => {
    await expect(provider(mydex.issuer).metadata()).rejects.toMatchObject({ code: 'upstream_unavailable' });
    const configured = await provider(mydex.issuer, allEndpoints(mydex.issuer)).metadata();
    expect(configured).toMatchObject({
      issuer: mydex.issuer,
      authorizationEndpoint: `${mydex.issuer}/auth`,
      tokenEndpoint: `${mydex.issuer}/token`,
    });
    expect(JSON.stringify(configured)).not.toContain('elsewhere');
  });

  it("refuses it for the client-credentials token: {issuer}/oauth2/token, never the document's token_endpoint", async () => {
    mydex.requests = 0;
    expect(await provider(mydex.issuer).tokenEndpoint()).toBe(`${mydex.issuer}/oauth2/token`);
    expect(mydex.requests).toBe(1);
  });

  it('answers MYDEX_TOKEN_URL for the client-credentials token without asking discovery', async () => {
    mydex.requests = 0;
    expect(await provider(mydex.issuer, { tokenEndpoint: `${mydex.issuer}/configured-token` }).tokenEndpoint()).toBe(
      `${mydex.issuer}/configured-token`,
    );
    expect(mydex.requests).toBe(0);
  });
});

describe('MydexOidcProvider and redirects', () => {
  const other = discoveryServer((_request, response) =>
    response.writeHead(200, { 'content-type': 'application/json' }).end(documentFor('placeholder')),
  );
  const mydex = discoveryServer((request, response, issuer) => {
    if (request.url === '/.well-known/openid-configuration') response.writeHead(302, { location: '/moved/openid-configuration' }).end();
    else response.writeHead(200, { 'content-type': 'application/json' }).end(documentFor(issuer));
  });

  it("follows a redirect within the issuer's origin", async () => {
    expect((await provider(mydex.issuer).metadata()).tokenEndpoint).toBe(`${mydex.issuer}/token`);
  });

  it('does not follow one to another origin, even to a document naming the right issuer', async () => {
    // The other server answers a document that names this issuer, with its own endpoints.
    other.handle = (_request, response) =>
      response
        .writeHead(200, { 'content-type': 'application/json' })
        .end(documentFor(mydex.issuer, { token_endpoint: `${other.issuer}/steal` }));
    mydex.handle = (_request, response) => response.writeHead(302, { location: `${other.issuer}/.well-known/openid-configuration` }).end();
    other.requests = 0;
    expect(await provider(mydex.issuer).tokenEndpoint()).toBe(`${mydex.issuer}/oauth2/token`);
    expect(other.requests).toBe(0);
  });

  it('ignores an endpoint that is not an http(s) URL', async () => {
    mydex.handle = (_request, response, issuer) =>
      response.writeHead(200, { 'content-type': 'application/json' }).end(documentFor(issuer, { token_endpoint: 'javascript:alert(1)' }));
    expect(await provider(mydex.issuer).tokenEndpoint()).toBe(`${mydex.issuer}/oauth2/token`);
  });
});
