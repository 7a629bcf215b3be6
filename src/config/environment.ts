import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { invalidCidrEntries } from '../common/http/cidr-list.js';
import { DOMAIN_EVENT_NAMES, eventSelectedBy } from '../events/domain-events.js';
import { IsBase64, IsIn, IsInt, IsOptional, IsString, IsUrl, Matches, Max, Min, getMetadataStorage, validateSync } from 'class-validator';

/**
 * Every environment variable the BFF reads. The names are part of the contract (architecture.md,
 * "Configuration"): operators script against them. Defaults are the development ones; production
 * refuses to start without real secrets.
 */
export class EnvironmentVariables {
  @IsIn(['development', 'production', 'test'])
  NODE_ENV: 'development' | 'production' | 'test' = 'development';

  @IsInt()
  @Min(0)
  @Max(65535)
  PORT: number = 3000;

  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  PUBLIC_BASE_URL = 'http://localhost:3000';

  /** Prefix of every problem `type` URL (the code is appended). Unset: `{PUBLIC_BASE_URL}/errors/`, served by GET /errors/{code}. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  PROBLEM_TYPE_BASE_URL?: string;

  @Matches(/^(sqlite:.+|postgres(ql)?:\/\/.+)$/, { message: 'must be sqlite:<file> or postgres://…' })
  DATABASE_URL = 'sqlite:data/bff.sqlite';

  @IsOptional()
  @Matches(/^rediss?:\/\/.+/, { message: 'must be a redis:// URL' })
  REDIS_URL?: string;

  @Matches(/^\s*https?:\/\/[^\s,/]+(\s*,\s*https?:\/\/[^\s,/]+)*\s*$/, {
    message: 'must be a comma list of origins such as https://app.example.com',
  })
  FRONTEND_ORIGINS = 'http://localhost:3000';

  @IsOptional()
  @IsString()
  NATIVE_REDIRECT_URIS?: string;

  @IsIn(['on', 'off'])
  RATE_LIMITS: 'on' | 'off' = 'on';

  /** 409 answers (MydexID or email in use) one client IP may get per window before its registrations get 429 (docs/security.md). */
  @IsInt()
  @Min(1)
  @Max(100000)
  REGISTRATION_CONFLICT_LIMIT: number = 5;

  @IsInt()
  @Min(1)
  @Max(86400)
  REGISTRATION_CONFLICT_WINDOW_SECONDS: number = 600;

  /** Own-form registrations that reach Mydex per window, across every client and instance; 0 turns the global budget off. */
  @IsInt()
  @Min(0)
  @Max(100000000)
  REGISTRATION_GLOBAL_LIMIT: number = 1000;

  @IsInt()
  @Min(1)
  @Max(86400)
  REGISTRATION_GLOBAL_WINDOW_SECONDS: number = 3600;

  /** Optional human check on own-form registration (src/registration/challenge): off, turnstile or hcaptcha. */
  @IsIn(['off', 'turnstile', 'hcaptcha'])
  REGISTRATION_CHALLENGE: 'off' | 'turnstile' | 'hcaptcha' = 'off';

  /** The provider's secret key; required unless REGISTRATION_CHALLENGE=off. */
  @IsOptional()
  @IsString()
  REGISTRATION_CHALLENGE_SECRET?: string;

  /** Overrides the provider's siteverify URL (tests, a proxy). */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  REGISTRATION_CHALLENGE_VERIFY_URL?: string;

  /**
   * The demo SPA (examples/spa) at `/` (docs/demo.md). Unset: served in development and test, not in
   * production. `on` or `off` decides in every environment.
   */
  @IsOptional()
  @IsIn(['on', 'off'])
  DEMO_SPA?: 'on' | 'off';

  @IsIn(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
  LOG_LEVEL = 'info';

  /** `json` or `pretty`. Unset: pretty in development when stdout is a terminal, JSON otherwise (docs/operations.md, "Logs"). */
  @IsOptional()
  @IsIn(['json', 'pretty'])
  LOG_FORMAT?: 'json' | 'pretty';

  /** JSON logs are buffered (4 KiB) and written at the latest after this many milliseconds (docs/operations.md, "Logs"). */
  @IsInt()
  @Min(10)
  @Max(60000)
  LOG_FLUSH_INTERVAL_MS: number = 200;

  /**
   * Bearer token for `GET /metrics` on the main port (docs/operations.md, "Metrics"). Set: the main
   * port's /metrics requires `Authorization: Bearer <token>` in every environment. Unset: /metrics on
   * the main port is public in development and test, and absent (404) in production.
   */
  @IsOptional()
  @IsString()
  @Matches(/^[\x21-\x7e]{16,512}$/, { message: 'must be 16 to 512 printable characters without spaces (openssl rand -hex 32)' })
  METRICS_TOKEN?: string;

  /** A separate listener serving only `GET /metrics` (no token), on METRICS_HOST; unset: none. */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(65535)
  METRICS_PORT?: number;

  /** Interface of the METRICS_PORT listener: keep it internal (default loopback). */
  @IsString()
  METRICS_HOST = '127.0.0.1';

  /** `/docs`, `/openapi.json` and `/openapi.yaml`. Unset: served in development and test, not in production. */
  @IsOptional()
  @IsIn(['on', 'off'])
  API_DOCS?: 'on' | 'off';

  @IsOptional()
  @IsString()
  TRUSTED_PROXIES?: string;

  @IsOptional()
  @IsBase64()
  DATA_ENCRYPTION_KEY?: string;

  /**
   * Earlier data encryption keys (comma list, base64 32 bytes each), still accepted for decryption
   * while `npm run rotate-data-key` re-encrypts under DATA_ENCRYPTION_KEY (docs/connections.md).
   */
  @IsOptional()
  @IsString()
  DATA_ENCRYPTION_KEYS_OLD?: string;

  /** Where development keeps the generated key when DATA_ENCRYPTION_KEY is unset (never used in production). */
  @IsString()
  DATA_ENCRYPTION_KEY_FILE = 'data/data-encryption.key';

  /** The version of the Data Sharing Agreement configured for the Dedicated Connection at Mydex. */
  @IsInt()
  @Min(1)
  @Max(1000000)
  MYDEX_CONNECTION_VERSION: number = 1;

  /**
   * Addresses and CIDR ranges (comma list, IPv4 and IPv6) the connection callback is accepted from,
   * checked on the client address after TRUSTED_PROXIES; unset accepts any (docs/operations.md).
   */
  @IsOptional()
  @IsString()
  CALLBACK_ALLOWED_IPS?: string;

  /**
   * Outbound webhooks (src/webhooks, docs/operations.md "Webhooks"): the integrator's endpoint. Unset:
   * the feature is off and nothing is written to the outbox. Production: https.
   */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  WEBHOOK_URL?: string;

  /** The signing secret, `whsec_` and the base64 of 24 to 64 random bytes (Standard Webhooks); required with WEBHOOK_URL. */
  @IsOptional()
  @IsString()
  WEBHOOK_SECRET?: string;

  /** Comma list of the event types sent (`connection.established`, or `connection.*`); unset: every type. */
  @IsOptional()
  @Matches(/^\s*[a-z0-9_.*-]+(\s*,\s*[a-z0-9_.*-]+)*\s*$/i, {
    message: 'must be a comma list of event types such as connection.established or connection.*',
  })
  WEBHOOK_EVENTS?: string;

  /** Per-attempt timeout of a webhook delivery, in milliseconds; a claimed row's lease is twice this. */
  @IsInt()
  @Min(100)
  @Max(120000)
  WEBHOOK_TIMEOUT_MS: number = 10000;

  /** Delays before the 2nd, 3rd… attempt, in seconds (comma list; the last repeats), each ±20 % jitter. */
  @IsOptional()
  @Matches(/^\s*\d+(\.\d+)?(\s*,\s*\d+(\.\d+)?)*\s*$/, { message: 'must be a comma list of seconds such as 5,30,120,600,3600' })
  WEBHOOK_RETRY_SCHEDULE?: string;

  /** How long after an event was written its delivery is retried before it is marked failed, in seconds. */
  @IsInt()
  @Min(1)
  @Max(604800)
  WEBHOOK_RETRY_FOR_SECONDS: number = 86400;

  /** How often each instance looks for due deliveries (others' events, retries, expired leases), in milliseconds. */
  @IsInt()
  @Min(10)
  @Max(600000)
  WEBHOOK_POLL_INTERVAL_MS: number = 2000;

  /** Days a delivered (or failed) webhook_outbox row is kept after delivery (or failing); 0 keeps them for ever. */
  @IsInt()
  @Min(0)
  @Max(36500)
  WEBHOOK_RETENTION_DAYS: number = 7;

  /** Days a `connection_events` row (the audit trail of callbacks) is kept; 0 keeps them for ever. */
  @IsInt()
  @Min(0)
  @Max(36500)
  CONNECTION_EVENTS_RETENTION_DAYS: number = 90;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MYDEX_ISSUER?: string;

  @IsString()
  MYDEX_CLIENT_ID = LOCAL_EMULATOR.clientId;

  @IsString()
  MYDEX_CLIENT_SECRET = LOCAL_EMULATOR.clientSecret;

  @IsString()
  MYDEX_SCOPES = 'openid mydexid';

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MYDEX_PDX_URL?: string;

  @Matches(/^[0-9]+$/, { message: 'must be the numeric Connection NID' })
  MYDEX_CONNECTION_NID = LOCAL_EMULATOR.connectionNid;

  @IsString()
  MYDEX_CONNECTION_TOKEN = LOCAL_EMULATOR.connectionToken;

  @IsInt()
  @Min(0)
  @Max(65535)
  EMULATOR_PORT: number = 4000;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MYDEX_CALLBACK_URL?: string;

  /** Interface the local emulator listens on (0.0.0.0 inside a container). */
  @IsOptional()
  @IsString()
  EMULATOR_HOST?: string;

  /** The emulator's URL as browsers and the BFF reach it (its issuer); default http://localhost:EMULATOR_PORT. */
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  EMULATOR_PUBLIC_URL?: string;

  /** Per-call timeout for every request to Mydex (token, short access token, PDX API), in milliseconds. */
  @IsInt()
  @Min(100)
  @Max(120000)
  MYDEX_TIMEOUT_MS: number = 10000;

  // OIDC endpoint overrides (docs/oidc-and-sessions.md): each one wins over discovery.
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MYDEX_AUTHORIZATION_URL?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MYDEX_TOKEN_URL?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MYDEX_USERINFO_URL?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MYDEX_JWKS_URL?: string;

  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  MYDEX_END_SESSION_URL?: string;

  /** Lifetime of a member session (web cookie or native bearer token), in seconds. */
  @IsInt()
  @Min(60)
  @Max(2592000)
  SESSION_TTL_SECONDS: number = 43200;

  /**
   * Idle timeout of a member session, in seconds: a session unused for this long ends, even before
   * SESSION_TTL_SECONDS. Sliding; the last use is recorded at most once a minute.
   */
  @IsInt()
  @Min(300)
  @Max(2592000)
  SESSION_IDLE_SECONDS: number = 1800;

  /** `on`: the web session cookie carries Max-Age (survives closing the browser); `off`: a browser-session cookie. */
  @IsIn(['on', 'off'])
  SESSION_PERSISTENT: 'on' | 'off' = 'off';

  /**
   * How long after Mydex's Private Key form returns the client that created an own-form registration
   * may start the First Time Connection and read its status without signing in (0 turns this off).
   */
  @IsInt()
  @Min(0)
  @Max(86400)
  REGISTRATION_CONNECT_WINDOW_SECONDS: number = 1800;
}

/** Credentials the local emulator and the BFF share when no Mydex settings are given. Development only. */
export const LOCAL_EMULATOR = {
  clientId: 'mydex-bff-local',
  clientSecret: 'local-emulator-client-secret-not-for-production',
  connectionNid: '45678',
  connectionToken: 'local-emulator-connection-token-not-for-production',
} as const;

const PLACEHOLDER = /not-for-production|change-?me|placeholder|example|^secret$|^x+$/i;

/** The secrets production refuses to run without (or with a placeholder value). */
const PRODUCTION_SECRETS = ['MYDEX_CLIENT_SECRET', 'MYDEX_CONNECTION_TOKEN', 'DATA_ENCRYPTION_KEY'] as const;
const PRODUCTION_REQUIRED = ['MYDEX_ISSUER', 'MYDEX_CLIENT_ID', 'MYDEX_PDX_URL', 'MYDEX_CONNECTION_NID'] as const;
/**
 * Production URLs that must be given and https: without them the BFF would fall back to its
 * http://localhost development defaults (cookies without `Secure` and `__Host-`, a localhost CORS
 * and returnTo origin) or talk to Mydex (or the webhook receiver, when set) in clear text.
 * FRONTEND_ORIGINS: every origin of the list.
 */
const PRODUCTION_HTTPS_URLS = ['PUBLIC_BASE_URL', 'MYDEX_ISSUER', 'MYDEX_PDX_URL', 'WEBHOOK_URL'] as const;

function productionHttpsProblems(given: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const isHttps = (value: string) => /^https:\/\/[^/?#\s]/i.test(value);
  for (const name of PRODUCTION_HTTPS_URLS) {
    const value = given[name];
    if (value === undefined) {
      if (name === 'PUBLIC_BASE_URL') problems.push(`${name}: required in production (the https URL Mydex and browsers reach)`);
    } else if (!isHttps(String(value))) problems.push(`${name}: must be an https:// URL in production`);
  }
  const origins = given.FRONTEND_ORIGINS;
  if (origins === undefined) problems.push('FRONTEND_ORIGINS: required in production (the https origins of your frontends)');
  else if (!splitList(String(origins)).every(isHttps)) problems.push('FRONTEND_ORIGINS: every origin must be https:// in production');
  return problems;
}

/** `whsec_` and the base64 of the key: what Standard Webhooks libraries and their users exchange. */
const WEBHOOK_SECRET_FORMAT = /^whsec_([A-Za-z0-9+/]+={0,2})$/;

/**
 * The webhook key of a `whsec_<base64>` secret (24 to 64 bytes), or undefined when it is not one.
 * Never echoes the value.
 */
export function webhookKey(secret: string): Buffer | undefined {
  const match = WEBHOOK_SECRET_FORMAT.exec(secret);
  if (!match || match[1].length % 4 !== 0) return undefined;
  const key = Buffer.from(match[1], 'base64');
  return key.length >= 24 && key.length <= 64 ? key : undefined;
}

/** WEBHOOK_URL and WEBHOOK_SECRET go together; the secret is a whsec_ key; the URL carries no credentials. */
function webhookProblems(env: EnvironmentVariables): string[] {
  const problems: string[] = [];
  if (env.WEBHOOK_URL !== undefined && env.WEBHOOK_SECRET === undefined)
    problems.push(
      'WEBHOOK_SECRET: required when WEBHOOK_URL is set (whsec_ and the base64 of 32 random bytes: echo whsec_$(openssl rand -base64 32))',
    );
  if (env.WEBHOOK_SECRET !== undefined && env.WEBHOOK_URL === undefined) problems.push('WEBHOOK_URL: required when WEBHOOK_SECRET is set');
  if (env.WEBHOOK_SECRET !== undefined && webhookKey(env.WEBHOOK_SECRET) === undefined) {
    problems.push('WEBHOOK_SECRET: must be whsec_ followed by the base64 of 24 to 64 random bytes (echo whsec_$(openssl rand -base64 32))');
  }
  if (splitList(env.WEBHOOK_RETRY_SCHEDULE).some((seconds) => Number(seconds) < 0.1)) {
    problems.push('WEBHOOK_RETRY_SCHEDULE: every delay must be at least 0.1 second (a 0 would retry in a tight loop)');
  }
  // Entries the pattern above already refuses are named there, not twice.
  const unknown = splitList(env.WEBHOOK_EVENTS).filter(
    (wanted) => /^[a-z0-9_.*-]+$/i.test(wanted) && !DOMAIN_EVENT_NAMES.some((name) => eventSelectedBy(wanted, name)),
  );
  if (unknown.length > 0)
    problems.push(
      `WEBHOOK_EVENTS: ${unknown.join(', ')} matches no event (${DOMAIN_EVENT_NAMES.join(', ')}, or prefix.* such as connection.*)`,
    );
  if (env.WEBHOOK_URL !== undefined && URL.canParse(env.WEBHOOK_URL)) {
    const url = new URL(env.WEBHOOK_URL);
    if (url.username !== '' || url.password !== '')
      problems.push('WEBHOOK_URL: must not carry credentials (user:password@); the signature authenticates the BFF');
  }
  return problems;
}

export class EnvironmentError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'EnvironmentError';
  }
}

/** The last environment validated, and its result: start-up asks main, createApp, ConfigModule and each config namespace. */
let lastValidated: { key: string; env: EnvironmentVariables } | undefined;

/**
 * Validates the raw environment and returns the typed, defaulted variables. Throws one error that
 * names every bad variable, so an operator fixes them all in one go. Never echoes a secret's value.
 * The same environment is validated once: later calls answer the same (read-only) result.
 */
export function validateEnvironment(raw: Record<string, unknown>): EnvironmentVariables {
  const given: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (typeof value === 'string' && value.trim() !== '') given[name] = value.trim();
  }
  const key = JSON.stringify(given);
  if (lastValidated?.key === key) return lastValidated.env;
  const env = plainToInstance(EnvironmentVariables, given, { enableImplicitConversion: true, exposeDefaultValues: true });
  // Outside production, `PORT=3001 npm start` alone works: the public URL and the demo's origin
  // follow the port unless set (production requires both, https).
  if (env.NODE_ENV !== 'production' && typeof given.PORT === 'string' && /^[1-9][0-9]*$/.test(given.PORT)) {
    if (given.PUBLIC_BASE_URL === undefined) env.PUBLIC_BASE_URL = `http://localhost:${given.PORT}`;
    if (given.FRONTEND_ORIGINS === undefined) env.FRONTEND_ORIGINS = `http://localhost:${given.PORT}`;
  }
  // Implicit conversion reads `1e3`, `0x10` or `3.0` as numbers: an integer setting takes digits only.
  for (const name of integerSettings()) {
    if (typeof given[name] === 'string' && !/^[0-9]+$/.test(given[name] as string)) {
      (env as unknown as Record<string, unknown>)[name] = Number.NaN;
    }
  }
  const problems = validateSync(env, { skipMissingProperties: false, whitelist: false }).map(
    (error) => `${error.property}: ${Object.values(error.constraints ?? {}).join('; ')}`,
  );
  if (env.DATA_ENCRYPTION_KEY !== undefined && Buffer.from(env.DATA_ENCRYPTION_KEY, 'base64').length !== 32) {
    problems.push('DATA_ENCRYPTION_KEY: must be 32 bytes, base64-encoded (openssl rand -base64 32)');
  }
  const badCidrs = invalidCidrEntries(splitList(env.CALLBACK_ALLOWED_IPS));
  if (badCidrs.length > 0) problems.push(`CALLBACK_ALLOWED_IPS: not an IP address or CIDR range: ${badCidrs.join(', ')}`);
  if (
    splitList(env.DATA_ENCRYPTION_KEYS_OLD).some((key) => !/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length !== 32)
  ) {
    problems.push('DATA_ENCRYPTION_KEYS_OLD: must be a comma list of 32-byte base64 keys');
  }
  if (env.REGISTRATION_CHALLENGE !== 'off' && env.REGISTRATION_CHALLENGE_SECRET === undefined) {
    problems.push(`REGISTRATION_CHALLENGE_SECRET: required when REGISTRATION_CHALLENGE=${env.REGISTRATION_CHALLENGE}`);
  }
  problems.push(...webhookProblems(env));
  if (env.NODE_ENV === 'production') {
    for (const name of PRODUCTION_REQUIRED) {
      if (given[name] === undefined) problems.push(`${name}: required in production`);
    }
    problems.push(...productionHttpsProblems(given));
    if (given.METRICS_TOKEN !== undefined && PLACEHOLDER.test(String(given.METRICS_TOKEN)))
      problems.push('METRICS_TOKEN: is a placeholder; set a real token');
    for (const name of PRODUCTION_SECRETS) {
      const value = given[name];
      if (value === undefined) problems.push(`${name}: required in production`);
      else if (PLACEHOLDER.test(String(value))) problems.push(`${name}: is a placeholder; set the real secret`);
    }
  }
  if (problems.length > 0) throw new EnvironmentError(problems.sort());
  lastValidated = { key, env: Object.freeze(env) };
  return env;
}

let integers: readonly string[] | undefined;

/** The settings declared @IsInt() above, read from class-validator's metadata (named once, where they are declared). */
function integerSettings(): readonly string[] {
  integers ??= [
    ...new Set(
      getMetadataStorage()
        .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
        .filter((metadata) => metadata.name === 'isInt')
        .map((metadata) => metadata.propertyName),
    ),
  ];
  return integers;
}

export function splitList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}
