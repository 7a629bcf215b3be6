import { Logger, type LoggerService } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { Redis } from 'ioredis';
import { DataSource } from 'typeorm';
import { ProblemException } from '../common/problem/problem.exception.js';
import { EnvironmentError, splitList, validateEnvironment, type EnvironmentVariables } from '../config/environment.js';
import { mydexConfig } from '../config/mydex.config.js';
import { oidcConfig } from '../config/oidc.config.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { ClientCredentialsTokens } from '../mydex/client-credentials.js';
import { parseJson } from '../mydex/mydex-answers.js';
import { MydexTransportError } from '../mydex/mydex-http.js';
import { MydexClient, sha512Hex } from '../mydex/mydex.client.js';
import { discoveryUrl, MydexOidcProvider, requestDiscovery } from '../mydex/mydex-oidc-provider.js';
import { dataSourceOptions, engineOf } from '../persistence/data-source-options.js';
import { BACKCHANNEL_LOGOUT } from '../common/http/routes.js';

/**
 * `npm run doctor` (docs/operations.md, "Going live with Mydex" in the README): checks the settings of
 * a deployment against the Mydex they name, or against the local emulator when no MYDEX_ISSUER is set,
 * and prints one line per check. It reuses the BFF's own pieces (environment validation, the `mydex`
 * and `oidc` config namespaces, the Mydex HTTP client, the data source options) so that what passes
 * here is what the BFF will do. It never prints a secret: every line is also scrubbed of the values
 * of the secret settings before it is written.
 */

export type CheckStatus = 'ok' | 'warn' | 'fail' | 'skip';

export interface CheckResult {
  title: string;
  status: CheckStatus;
  detail: string;
}

export interface DoctorReport {
  /** `mydex` when MYDEX_ISSUER is set, else `emulator`. */
  target: 'mydex' | 'emulator';
  results: CheckResult[];
  /** 0 when no check failed (warnings and skips allowed), 1 otherwise. */
  exitCode: 0 | 1;
}

export interface DoctorOptions {
  /** The environment to check (the CLI passes process.env). */
  env: Record<string, string | undefined>;
  /** Receives each printed line (without a newline). Default: stdout. */
  write?: (line: string) => void;
}

const TOKEN_TITLE = 'Client-credentials token (scope mydex:pdx)';
const SHORT_TOKEN_TITLE = 'Short access token for the Dedicated Connection';

const LABEL: Record<CheckStatus, string> = { ok: '[ ok ]', warn: '[warn]', fail: '[FAIL]', skip: '[skip]' };

/** Runs every check, prints the checklist and a summary, and answers the exit code. */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const secrets = secretValues(options.env);
  const say = (line: string) => write(scrub(line, secrets));
  const results: CheckResult[] = [];
  const record = (result: CheckResult) => {
    results.push(result);
    say(`${LABEL[result.status]} ${result.title}: ${result.detail}`);
  };
  const logs = collectNestLogs();
  let stopEmulator: (() => Promise<void>) | undefined;
  const target = options.env.MYDEX_ISSUER?.trim() ? 'mydex' : 'emulator';
  say(
    target === 'mydex'
      ? `npm run doctor: checking these settings against the Mydex at MYDEX_ISSUER (${options.env.MYDEX_ISSUER?.trim()}).`
      : 'npm run doctor: no MYDEX_ISSUER set, so checking the local Mydex emulator as `npm start` and `npm run emulator` run it.',
  );
  try {
    const settings = checkSettings(options.env, target, record);
    if (!settings) {
      record({ title: 'Mydex and database checks', status: 'skip', detail: 'not run: fix the settings above first' });
      return finish(target, results, say);
    }
    const { env, production } = settings;
    const mydex = withProcessEnv(settings.raw, () => mydexConfig());
    const oidc = withProcessEnv(settings.raw, () => oidcConfig());
    checkPublicUrls(env.PUBLIC_BASE_URL, production, mydex.callbackUrl, oidc.callbackUrl, record);

    // Fetched as the BFF fetches it (src/mydex/mydex-oidc-provider.ts): the same URL, the same redirect rule.
    const url = discoveryUrl(mydex.issuer);
    let discovery = await fetchDiscovery(mydex.issuer, mydex.timeoutMs);
    if (target === 'emulator' && discovery.kind === 'unreachable') {
      // Nothing listens where the emulator should: start it here with the same settings `npm start` gives it.
      const { defaultEmulatorOptions, startEmulator } = await import('../../emulator/emulator.js');
      const emulator = await startEmulator({ ...defaultEmulatorOptions(options.env as NodeJS.ProcessEnv), port: env.EMULATOR_PORT });
      stopEmulator = () => emulator.close();
      record({
        title: 'Local emulator',
        status: 'ok',
        detail: `none was listening on port ${env.EMULATOR_PORT}: started one in this process for the checks (stopped at the end)`,
      });
      discovery = await fetchDiscovery(mydex.issuer, mydex.timeoutMs);
    }
    checkDiscovery(discovery, url, mydex.issuer, mydex.scopes, oidc.overrides, production, record);

    const metrics = new MetricsService(new HttpAdapterHost());
    // The BFF's own discovery client: the token endpoint is found the way the BFF finds it.
    const provider = new MydexOidcProvider(mydex, oidc, metrics);
    record(
      await upstreamCheck(TOKEN_TITLE, logs, async () => {
        const tokens = new ClientCredentialsTokens({
          tokenEndpoint: () => provider.tokenEndpoint(),
          clientId: mydex.clientId,
          clientSecret: mydex.clientSecret,
          timeoutMs: mydex.timeoutMs,
          scope: 'mydex:pdx',
        });
        await tokens.get();
        return `obtained from the token endpoint with MYDEX_CLIENT_ID ${mydex.clientId}`;
      }),
    );
    const client = new MydexClient(mydex, metrics, provider);
    const passed = (title: string) => results.find((result) => result.title === title)?.status === 'ok';
    record(
      await upstreamCheck(SHORT_TOKEN_TITLE, logs, async () => {
        if (!passed(TOKEN_TITLE)) throw new DoctorFinding('skip', 'not checked: it needs the client-credentials token');
        await client.checkShortAccessToken();
        return `obtained from ${mydex.pdxUrl}/access-token/${mydex.connectionNid}`;
      }),
    );
    record(
      await upstreamCheck('Dedicated Connection token accepted', logs, async () => {
        if (!passed(SHORT_TOKEN_TITLE)) throw new DoctorFinding('skip', 'not checked: it needs a short access token');
        const status = await client.checkConnectionCredentials().catch((error: unknown) => {
          if (error instanceof ProblemException && error.code === 'upstream_auth_failed') {
            // The client credentials and the NID passed the lines above: what is left is the connection token.
            throw new DoctorFinding(
              'fail',
              `Mydex refused the Authentication header or connection_token_hash of connection ${mydex.connectionNid} (upstream_auth_failed): check MYDEX_CONNECTION_TOKEN, the Connection Token Mydex issued with that NID`,
            );
          }
          throw error;
        });
        if (status === 400 || status === 422) {
          return `Mydex accepted the short token, Authentication header and connection_token_hash of connection ${mydex.connectionNid} (and refused only the probe's deliberately empty body, HTTP ${status})`;
        }
        throw new DoctorFinding(
          'warn',
          `POST ${mydex.pdxUrl}/api/connection with an empty body answered HTTP ${status}, not the expected 400: the credentials were not refused, but check MYDEX_PDX_URL`,
        );
      }),
    );
    record(await checkDatabase(env.DATABASE_URL));
    record(await checkRedis(env.REDIS_URL));
    return finish(target, results, say);
  } finally {
    logs.restore();
    await stopEmulator?.();
  }
}

function finish(target: DoctorReport['target'], results: CheckResult[], say: (line: string) => void): DoctorReport {
  const count = (status: CheckStatus) => results.filter((result) => result.status === status).length;
  const failed = count('fail');
  say(`${failed} failed, ${count('warn')} warnings, ${count('ok')} passed${count('skip') ? `, ${count('skip')} not run` : ''}.`);
  const verdict = count('warn') > 0 ? 'Ready: no check failed; read the warnings above.' : 'Ready: every check passed.';
  say(failed === 0 ? verdict : 'Not ready: fix the lines marked [FAIL] and run `npm run doctor` again.');
  return { target, results, exitCode: failed === 0 ? 0 : 1 };
}

// --- Settings -----------------------------------------------------------------------------------------

interface Settings {
  env: EnvironmentVariables;
  /** NODE_ENV=production as given (the checks below are as strict as a production start). */
  production: boolean;
  /** The environment the config namespaces read: as given, or with the production rules set aside. */
  raw: Record<string, string | undefined>;
}

/**
 * The BFF's own environment validation (every bad variable named, no value echoed; in production it
 * refuses missing and placeholder secrets). When only the production rules fail, that line fails and
 * the other checks still run, with the settings read as development would read them, so one run shows
 * everything to fix. Outside production, with real Mydex settings, the production rules are applied
 * too and what they would refuse is a warning.
 */
function checkSettings(
  raw: Record<string, string | undefined>,
  target: DoctorReport['target'],
  record: (result: CheckResult) => void,
): Settings | undefined {
  const title = 'Settings valid, secrets not placeholders';
  const production = raw.NODE_ENV?.trim() === 'production';
  let env: EnvironmentVariables;
  try {
    env = validateEnvironment(raw);
  } catch (error) {
    if (!(error instanceof EnvironmentError)) throw error;
    record({ title, status: 'fail', detail: error.problems.join('; ') });
    if (!production) return undefined;
    const relaxed = { ...raw, NODE_ENV: 'development' };
    try {
      return { env: validateEnvironment(relaxed), production, raw: relaxed };
    } catch (relaxedError) {
      if (!(relaxedError instanceof EnvironmentError)) throw relaxedError;
      return undefined;
    }
  }
  if (production) {
    record({
      title,
      status: 'ok',
      detail:
        'the production rules pass (Mydex settings present, MYDEX_CLIENT_SECRET, MYDEX_CONNECTION_TOKEN and DATA_ENCRYPTION_KEY set and not placeholders)',
    });
  } else if (target === 'emulator') {
    record({
      title,
      status: 'ok',
      detail: `valid for development (NODE_ENV=${env.NODE_ENV}); the emulator's built-in development credentials are allowed outside production`,
    });
  } else {
    let problems: string[] = [];
    try {
      validateEnvironment({ ...raw, NODE_ENV: 'production' });
    } catch (error) {
      if (!(error instanceof EnvironmentError)) throw error;
      problems = error.problems;
    }
    record(
      problems.length === 0
        ? { title, status: 'ok', detail: `valid, and the production rules pass too (NODE_ENV=${env.NODE_ENV})` }
        : {
            title,
            status: 'warn',
            detail: `valid for NODE_ENV=${env.NODE_ENV}, but a production start would refuse: ${problems.join('; ')}`,
          },
    );
  }
  return { env, production, raw };
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/** PUBLIC_BASE_URL and the URLs derived from it must be https in production; plain http is for localhost. */
function checkPublicUrls(
  publicBaseUrl: string,
  production: boolean,
  callbackUrl: string,
  redirectUri: string,
  record: (result: CheckResult) => void,
): void {
  const base = publicBaseUrl.replace(/\/+$/, '');
  const urls: [string, string][] = [
    ['PUBLIC_BASE_URL', base],
    ['Connection callback URL', callbackUrl],
  ];
  for (const [title, value] of urls) {
    const url = new URL(value);
    const registerAs =
      title === 'PUBLIC_BASE_URL'
        ? ` (OIDC redirect URI ${redirectUri}, back-channel logout URI ${base}${BACKCHANNEL_LOGOUT.path})`
        : ' (register it with Mydex for the Dedicated Connection)';
    if (url.protocol === 'https:') record({ title: `${title} https`, status: 'ok', detail: `${value}${registerAs}` });
    else if (production)
      record({
        title: `${title} https`,
        status: 'fail',
        detail: `${value} is plain http: production needs https (Mydex sends members and callbacks there)`,
      });
    else if (LOOPBACK.has(url.hostname))
      record({ title: `${title} https`, status: 'ok', detail: `${value}: plain http on this machine is allowed outside production` });
    else
      record({
        title: `${title} https`,
        status: 'warn',
        detail: `${value} is plain http: allowed because NODE_ENV is not production, but production needs https`,
      });
  }
}

// --- Discovery ----------------------------------------------------------------------------------------

type Discovery =
  { kind: 'document'; document: Record<string, unknown> } | { kind: 'unreachable'; reason: string } | { kind: 'bad'; reason: string };

async function fetchDiscovery(issuer: string, timeoutMs: number): Promise<Discovery> {
  const url = discoveryUrl(issuer);
  try {
    const answer = await requestDiscovery(issuer, timeoutMs);
    const body = parseJson(answer.text);
    if (answer.status !== 200) return { kind: 'bad', reason: `${url} answered HTTP ${answer.status}` };
    if (typeof body !== 'object' || body === null || Array.isArray(body))
      return { kind: 'bad', reason: `${url} answered something that is not a JSON object` };
    return { kind: 'document', document: body as Record<string, unknown> };
  } catch (error) {
    if (!(error instanceof MydexTransportError)) throw error;
    return {
      kind: 'unreachable',
      reason:
        error.kind === 'timeout'
          ? `${url} did not answer within MYDEX_TIMEOUT_MS`
          : `${url} could not be reached (refused, reset or unknown host)`,
    };
  }
}

type Overrides = ReturnType<typeof oidcConfig>['overrides'];

/** The endpoints the relying party needs, the setting that overrides each, and whether the BFF runs without it. */
const ENDPOINTS: { field: string; override: keyof Overrides; variable: string; optional?: string }[] = [
  { field: 'authorization_endpoint', override: 'authorizationEndpoint', variable: 'MYDEX_AUTHORIZATION_URL' },
  { field: 'token_endpoint', override: 'tokenEndpoint', variable: 'MYDEX_TOKEN_URL' },
  { field: 'userinfo_endpoint', override: 'userinfoEndpoint', variable: 'MYDEX_USERINFO_URL' },
  { field: 'jwks_uri', override: 'jwksUri', variable: 'MYDEX_JWKS_URL' },
  {
    field: 'end_session_endpoint',
    override: 'endSessionEndpoint',
    variable: 'MYDEX_END_SESSION_URL',
    // Mydex does not document its logout endpoint [S]; without one the BFF ends only its own session.
    optional: "logout will end only the BFF session, not the member's session at Mydex",
  },
];

function checkDiscovery(
  discovery: Discovery,
  url: string,
  configuredIssuer: string,
  scopes: string,
  overrides: Overrides,
  production: boolean,
  record: (result: CheckResult) => void,
): void {
  const document = discovery.kind === 'document' ? discovery.document : undefined;
  if (discovery.kind !== 'document') record({ title: 'Discovery reachable', status: 'fail', detail: discovery.reason });
  else record({ title: 'Discovery reachable', status: 'ok', detail: `${url} answered a JSON document` });

  if (!document) {
    record({ title: 'Issuer matches MYDEX_ISSUER', status: 'skip', detail: 'not checked: no discovery document' });
  } else {
    const issuer = typeof document.issuer === 'string' ? document.issuer : undefined;
    // The BFF compares without trailing slashes: Mydex's tokens carry `https://sbx-op.mydexid.org/` [S].
    if (issuer !== undefined && issuer.replace(/\/+$/, '') === configuredIssuer.replace(/\/+$/, '')) {
      record({ title: 'Issuer matches MYDEX_ISSUER', status: 'ok', detail: `${issuer}` });
    } else {
      record({
        title: 'Issuer matches MYDEX_ISSUER',
        status: 'fail',
        detail:
          issuer === undefined
            ? 'the discovery document has no issuer'
            : `discovery says ${issuer}, MYDEX_ISSUER is ${configuredIssuer}: the BFF refuses this provider`,
      });
    }
  }

  for (const endpoint of ENDPOINTS) {
    const title = `${endpoint.field} present`;
    const override = overrides[endpoint.override];
    const discovered =
      typeof document?.[endpoint.field] === 'string' && document[endpoint.field] !== '' ? (document[endpoint.field] as string) : undefined;
    const value = override ?? discovered;
    if (value === undefined) {
      const where = document ? 'not in the discovery document' : 'no discovery document';
      record({
        title,
        status: endpoint.optional ? 'warn' : 'fail',
        detail: `${where} and ${endpoint.variable} is not set${endpoint.optional ? `: ${endpoint.optional}` : ''}`,
      });
      continue;
    }
    const from = override ? `from ${endpoint.variable}` : 'from discovery';
    if (production && !value.startsWith('https://')) record({ title, status: 'fail', detail: `${value} (${from}) is not https` });
    else record({ title, status: 'ok', detail: `${value} (${from})` });
  }

  if (!document) {
    record({ title: 'PKCE S256 supported', status: 'skip', detail: 'not checked: no discovery document' });
    record({ title: `Scopes supported (${scopes})`, status: 'skip', detail: 'not checked: no discovery document' });
    return;
  }
  const methods = document.code_challenge_methods_supported;
  if (!Array.isArray(methods)) {
    // Mydex's own sample uses no PKCE and its pages do not say whether the provider supports it [S]; a
    // provider that does not announce it may still accept it (Hydra does [I]).
    record({
      title: 'PKCE S256 supported',
      status: 'warn',
      detail: 'not advertised (no code_challenge_methods_supported); the BFF always sends S256: try one login',
    });
  } else if (methods.includes('S256')) {
    record({
      title: 'PKCE S256 supported',
      status: 'ok',
      detail: `advertised (${methods.filter((m) => typeof m === 'string').join(', ')})`,
    });
  } else {
    record({
      title: 'PKCE S256 supported',
      status: 'fail',
      detail: `the provider advertises only ${methods.join(', ') || 'nothing'}; the BFF always sends S256`,
    });
  }
  const wanted = scopes.split(/\s+/).filter(Boolean);
  const supported = document.scopes_supported;
  if (!Array.isArray(supported)) {
    // scopes_supported is RECOMMENDED, not required, in OpenID Connect Discovery: absent is not a refusal.
    record({
      title: `Scopes supported (${scopes})`,
      status: 'warn',
      detail: 'not advertised (no scopes_supported): MYDEX_SCOPES cannot be checked before a login',
    });
  } else {
    const missing = wanted.filter((scope) => !supported.includes(scope));
    record(
      missing.length === 0
        ? { title: `Scopes supported (${scopes})`, status: 'ok', detail: 'advertised in scopes_supported' }
        : { title: `Scopes supported (${scopes})`, status: 'fail', detail: `not advertised: ${missing.join(' ')} (check MYDEX_SCOPES)` },
    );
  }
}

// --- Calls to Mydex through the BFF's own client -------------------------------------------------------

/** A result a check decides itself (a warning rather than a pass). */
class DoctorFinding extends Error {
  constructor(
    readonly status: CheckStatus,
    readonly detail: string,
  ) {
    super(detail);
  }
}

/** Runs one call through the BFF's Mydex code; a failure's reason is what that code logged for the operator. */
async function upstreamCheck(title: string, logs: NestLogs, run: () => Promise<string>): Promise<CheckResult> {
  logs.messages.length = 0;
  try {
    return { title, status: 'ok', detail: await run() };
  } catch (error) {
    if (error instanceof DoctorFinding) return { title, status: error.status, detail: error.detail };
    const logged = logs.messages.filter((message) => message.level === 'error' || message.level === 'warn').map((message) => message.text);
    if (!(error instanceof ProblemException))
      return { title, status: 'fail', detail: `unexpected error: ${error instanceof Error ? error.message : String(error)}` };
    // What the client logged names the settings to check; the problem's own detail is written for members.
    return { title, status: 'fail', detail: logged.length > 0 ? `${logged.join(' ')} (${error.code})` : `${error.code}: ${error.detail}` };
  }
}

interface NestLogs {
  messages: { level: string; text: string }[];
  restore(): void;
}

/** Routes Nest's Logger (which the Mydex client writes to) into a list, so reasons land on the check's line. */
function collectNestLogs(): NestLogs {
  const messages: NestLogs['messages'] = [];
  const holder = Logger as unknown as { staticInstanceRef?: LoggerService };
  const previous = holder.staticInstanceRef;
  const keep = (level: string) => (message: unknown) => {
    messages.push({ level, text: typeof message === 'string' ? message : JSON.stringify(message) });
  };
  Logger.overrideLogger({
    log: keep('log'),
    error: keep('error'),
    warn: keep('warn'),
    debug: keep('debug'),
    verbose: keep('verbose'),
    fatal: keep('error'),
  });
  return {
    messages,
    restore: () => {
      if (previous) Logger.overrideLogger(previous);
    },
  };
}

// --- Database and Redis ----------------------------------------------------------------------------------

async function checkDatabase(url: string): Promise<CheckResult> {
  const title = 'Database reachable';
  const engine = engineOf(url);
  const where = engine === 'sqlite' ? url : describeUrl(url);
  const db = new DataSource(dataSourceOptions(url));
  try {
    await db.initialize();
    await db.query('SELECT 1');
    const pending = await db.showMigrations();
    return {
      title,
      status: 'ok',
      detail: `${engine} at ${where} answered${pending ? '; migrations are pending (start-up or `npm run migrate` applies them)' : '; migrations up to date'}`,
    };
  } catch (error) {
    return { title, status: 'fail', detail: `${engine} at ${where}: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    if (db.isInitialized) await db.destroy().catch(() => undefined);
  }
}

async function checkRedis(url: string | undefined): Promise<CheckResult> {
  const title = 'Redis reachable';
  if (url === undefined)
    return {
      title,
      status: 'ok',
      detail: 'REDIS_URL not set: each instance keeps its own rate-limit counters (set it when several instances serve)',
    };
  const redis = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 2000,
    retryStrategy: () => null,
  });
  let cause: string | undefined;
  redis.on('error', (error: Error) => {
    cause ??= error.message;
  });
  try {
    await redis.connect();
    const answer = await redis.ping();
    return { title, status: 'ok', detail: `${describeUrl(url)} answered ${answer}` };
  } catch (error) {
    return { title, status: 'fail', detail: `${describeUrl(url)}: ${cause ?? (error instanceof Error ? error.message : String(error))}` };
  } finally {
    redis.disconnect();
  }
}

/** A connection URL without its credentials. */
function describeUrl(value: string): string {
  try {
    const url = new URL(value);
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    return '(the configured URL)';
  }
}

// --- Secrets ---------------------------------------------------------------------------------------------

/** Every secret value the settings hold (and the connection token's hash, which Mydex checks), longest first. */
function secretValues(env: Record<string, string | undefined>): string[] {
  const values = new Set<string>();
  const add = (value: string | undefined) => {
    const trimmed = value?.trim();
    if (trimmed) values.add(trimmed);
  };
  add(env.MYDEX_CLIENT_SECRET);
  add(env.MYDEX_CONNECTION_TOKEN);
  if (env.MYDEX_CONNECTION_TOKEN?.trim()) add(sha512Hex(env.MYDEX_CONNECTION_TOKEN.trim()));
  add(env.DATA_ENCRYPTION_KEY);
  for (const key of splitList(env.DATA_ENCRYPTION_KEYS_OLD)) add(key);
  for (const name of ['DATABASE_URL', 'REDIS_URL']) {
    try {
      const url = new URL(env[name]?.trim() ?? '');
      add(url.password ? decodeURIComponent(url.password) : undefined);
      add(url.password || undefined);
    } catch {
      // not a URL: nothing to take
    }
  }
  return [...values].sort((a, b) => b.length - a.length);
}

function scrub(line: string, secrets: string[]): string {
  let out = line;
  for (const secret of secrets) out = out.split(secret).join('[secret]');
  return out;
}

/** Runs a config namespace factory (which reads process.env) against the environment being checked. */
function withProcessEnv<T>(env: Record<string, string | undefined>, read: () => T): T {
  const saved = process.env;
  process.env = { ...env } as NodeJS.ProcessEnv;
  try {
    return read();
  } finally {
    process.env = saved;
  }
}
