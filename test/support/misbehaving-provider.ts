import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, UnsecuredJWT, type CryptoKey, type JWK } from 'jose';

/** What the provider does wrong on the next code exchange (each test picks one). */
export type ProviderFault =
  | 'none'
  | 'unknown_key'
  | 'wrong_aud'
  | 'wrong_iss'
  | 'expired'
  | 'nonce_mismatch'
  | 'alg_none'
  | 'hmac_with_client_secret'
  | 'foreign_azp'
  | 'userinfo_other_sub'
  | 'wrong_iss_parameter'
  | 'no_iss_parameter'
  | 'token_error'
  | 'userinfo_not_json';

export interface MisbehavingProviderOptions {
  clientId?: string;
  clientSecret?: string;
  /** Announce and sign with the issuer written with a trailing slash (as Mydex's tokens do). */
  trailingSlashIssuer?: boolean;
}

export interface MisbehavingProvider {
  /** Base URL; discovery is at `${url}/.well-known/openid-configuration`. */
  url: string;
  /** The issuer as the provider writes it in tokens. */
  issuer: string;
  clientId: string;
  clientSecret: string;
  fault: ProviderFault;
  /** Every token request's form fields and Authorization header, newest last. */
  tokenRequests: { form: URLSearchParams; authorization: string | undefined }[];
  /** The member the next login authenticates. */
  member: { sub: string; mydexid: string };
  /**
   * Plays the member's browser at the authorization endpoint: answers the BFF callback URL the
   * provider redirects to (with code, state and, unless the fault says otherwise, RFC 9207 `iss`).
   */
  authorize(authorizationUrl: string): Promise<string>;
  close(): Promise<void>;
}

interface IssuedCode {
  clientId: string;
  redirectUri: string;
  nonce: string;
  codeChallenge: string;
  used: boolean;
}

/**
 * A small OpenID Provider over node:http whose ID tokens are wrong in exactly the way a test asks
 * (unknown key, wrong aud/iss, expired, nonce, alg none, ...). It follows the standard contract
 * otherwise (discovery, JWKS, PKCE S256, client_secret_basic, UserInfo), so each refusal is the
 * BFF's doing. Test-only: the Mydex emulator stays a well-behaved provider.
 */
export async function startMisbehavingProvider(options: MisbehavingProviderOptions = {}): Promise<MisbehavingProvider> {
  const clientId = options.clientId ?? 'misbehaving-client';
  const clientSecret = options.clientSecret ?? `secret-${randomBytes(8).toString('hex')}`;
  const signing = await keyPair('known-key');
  const stranger = await keyPair('unknown-key');
  const codes = new Map<string, IssuedCode>();
  const accessTokens = new Map<string, string>();

  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const issuer = options.trailingSlashIssuer ? `${url}/` : url;

  const provider: MisbehavingProvider = {
    url,
    issuer,
    clientId,
    clientSecret,
    fault: 'none',
    tokenRequests: [],
    member: { sub: randomBytes(32).toString('hex'), mydexid: 'misbehaving1' },
    async authorize(authorizationUrl) {
      const response = await fetch(authorizationUrl, { redirect: 'manual' });
      const location = response.headers.get('location');
      if (response.status !== 302 || !location)
        throw new Error(`authorization endpoint answered ${response.status}: ${await response.text()}`);
      return location;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };

  const idToken = async (code: IssuedCode): Promise<string> => {
    const now = Math.floor(Date.now() / 1000);
    const fault = provider.fault;
    const claims: Record<string, unknown> = {
      sub: provider.member.sub,
      nonce: fault === 'nonce_mismatch' ? 'a-nonce-the-bff-never-sent' : code.nonce,
      mydexid: provider.member.mydexid,
    };
    if (fault === 'foreign_azp') claims.azp = 'another-client';
    const iss = fault === 'wrong_iss' ? 'http://evil.example' : issuer;
    const aud = fault === 'wrong_aud' ? 'another-client' : fault === 'foreign_azp' ? [clientId, 'another-client'] : clientId;
    const [iat, exp] = fault === 'expired' ? [now - 7200, now - 3600] : [now, now + 300];
    if (fault === 'alg_none')
      return new UnsecuredJWT(claims).setIssuer(iss).setAudience(aud).setIssuedAt(iat).setExpirationTime(exp).encode();
    const jwt = new SignJWT(claims).setIssuer(iss).setAudience(aud).setIssuedAt(iat).setExpirationTime(exp);
    if (fault === 'hmac_with_client_secret') return jwt.setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(clientSecret));
    const key = fault === 'unknown_key' ? stranger : signing;
    return jwt.setProtectedHeader({ alg: 'RS256', kid: key.kid }).sign(key.privateKey);
  };

  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    void handle(request, response).catch((error: unknown) =>
      json(response, 500, { error: 'server_error', error_description: String(error) }),
    );
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const requestUrl = new URL(request.url ?? '/', url);
    const path = requestUrl.pathname;
    if (path === '/.well-known/openid-configuration') {
      return json(response, 200, {
        issuer,
        authorization_endpoint: `${url}/authorize`,
        token_endpoint: `${url}/token`,
        userinfo_endpoint: `${url}/userinfo`,
        jwks_uri: `${url}/jwks`,
        end_session_endpoint: `${url}/logout`,
        response_types_supported: ['code'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['RS256'],
        code_challenge_methods_supported: ['S256'],
        token_endpoint_auth_methods_supported: ['client_secret_basic'],
        authorization_response_iss_parameter_supported: true,
      });
    }
    if (path === '/jwks') return json(response, 200, { keys: [signing.publicJwk] });
    if (path === '/authorize') {
      const q = requestUrl.searchParams;
      if (
        q.get('client_id') !== clientId ||
        q.get('response_type') !== 'code' ||
        q.get('code_challenge_method') !== 'S256' ||
        !q.get('code_challenge') ||
        !q.get('redirect_uri')
      ) {
        return json(response, 400, { error: 'invalid_request' });
      }
      const code = randomBytes(16).toString('hex');
      codes.set(code, {
        clientId,
        redirectUri: q.get('redirect_uri')!,
        nonce: q.get('nonce') ?? '',
        codeChallenge: q.get('code_challenge')!,
        used: false,
      });
      const target = new URL(q.get('redirect_uri')!);
      target.searchParams.set('code', code);
      target.searchParams.set('state', q.get('state') ?? '');
      if (provider.fault === 'wrong_iss_parameter') target.searchParams.set('iss', 'http://evil.example');
      else if (provider.fault !== 'no_iss_parameter') target.searchParams.set('iss', issuer);
      response.writeHead(302, { location: target.href }).end();
      return;
    }
    if (path === '/token' && request.method === 'POST') {
      const form = new URLSearchParams(await readBody(request));
      const authorization = request.headers.authorization;
      provider.tokenRequests.push({ form, authorization });
      const expected = `Basic ${Buffer.from(`${encodeURIComponent(clientId)}:${encodeURIComponent(clientSecret)}`).toString('base64')}`;
      if (authorization !== expected || form.has('client_secret')) return json(response, 401, { error: 'invalid_client' });
      const issued = codes.get(form.get('code') ?? '');
      const challenge = createHash('sha256')
        .update(form.get('code_verifier') ?? '')
        .digest('base64url');
      if (
        !issued ||
        issued.used ||
        issued.redirectUri !== form.get('redirect_uri') ||
        issued.codeChallenge !== challenge ||
        provider.fault === 'token_error'
      ) {
        return json(response, 400, { error: 'invalid_grant', error_description: 'grant request is invalid' });
      }
      issued.used = true;
      const accessToken = randomBytes(16).toString('hex');
      accessTokens.set(accessToken, provider.member.sub);
      return json(response, 200, {
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: 300,
        id_token: await idToken(issued),
        scope: 'openid mydexid',
      });
    }
    if (path === '/userinfo') {
      const sub = accessTokens.get((request.headers.authorization ?? '').replace(/^Bearer /, ''));
      if (!sub) return json(response, 401, { error: 'invalid_token' });
      if (provider.fault === 'userinfo_not_json') {
        response.writeHead(200, { 'content-type': 'text/html' }).end('<html>not json</html>');
        return;
      }
      const claimedSub = provider.fault === 'userinfo_other_sub' ? randomBytes(32).toString('hex') : sub;
      return json(response, 200, { sub: claimedSub, mydexid: provider.member.mydexid, username: provider.member.mydexid });
    }
    json(response, 404, { error: 'not_found' });
  }

  return provider;
}

async function keyPair(kid: string): Promise<{ kid: string; privateKey: CryptoKey; publicJwk: JWK }> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body));
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
