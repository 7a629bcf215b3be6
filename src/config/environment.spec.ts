import { describe, expect, it } from 'vitest';
import { EnvironmentError, validateEnvironment } from './environment.js';

const problemsOf = (env: Record<string, string>): string[] => {
  try {
    validateEnvironment(env);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(EnvironmentError);
    return (error as EnvironmentError).problems;
  }
};

/** A complete production configuration; tests change one thing at a time. */
const PRODUCTION: Record<string, string> = {
  NODE_ENV: 'production',
  PUBLIC_BASE_URL: 'https://bff.example.org',
  FRONTEND_ORIGINS: 'https://app.example.org,https://admin.example.org',
  MYDEX_ISSUER: 'https://op.mydexid.org',
  MYDEX_PDX_URL: 'https://api.mydex.org',
  MYDEX_CLIENT_ID: 'client',
  MYDEX_CONNECTION_NID: '45678',
  MYDEX_CLIENT_SECRET: 'a-real-looking-secret-9f8e7d',
  MYDEX_CONNECTION_TOKEN: 'a-real-looking-token-1a2b3c',
  DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

describe('environment validation', () => {
  it('takes integer settings as digits only, every one of them (1e3, 0x10 and 3.0 are not what an operator meant)', () => {
    for (const name of ['PORT', 'SESSION_TTL_SECONDS', 'SESSION_IDLE_SECONDS', 'LOG_FLUSH_INTERVAL_MS', 'WEBHOOK_TIMEOUT_MS']) {
      for (const value of ['1e3', '0x10', '3.0'])
        expect(
          problemsOf({ [name]: value }).map((p) => p.split(':')[0]),
          `${name}=${value}`,
        ).toEqual([name]);
    }
    expect(validateEnvironment({ SESSION_TTL_SECONDS: '3600' }).SESSION_TTL_SECONDS).toBe(3600);
  });

  it('outside production, derives PUBLIC_BASE_URL and FRONTEND_ORIGINS from PORT when they are not set', () => {
    expect(validateEnvironment({ PORT: '3999' })).toMatchObject({
      PUBLIC_BASE_URL: 'http://localhost:3999',
      FRONTEND_ORIGINS: 'http://localhost:3999',
    });
    expect(validateEnvironment({ PORT: '3999', PUBLIC_BASE_URL: 'http://127.0.0.1:8080' })).toMatchObject({
      PUBLIC_BASE_URL: 'http://127.0.0.1:8080',
      FRONTEND_ORIGINS: 'http://localhost:3999',
    });
    // PORT=0 (any free port) says nothing about the address: the defaults stay.
    expect(validateEnvironment({ PORT: '0' }).PUBLIC_BASE_URL).toBe('http://localhost:3000');
    // Production derives nothing: both are required there.
    expect(problemsOf({ ...PRODUCTION, PORT: '3999', PUBLIC_BASE_URL: '' }).join('\n')).toContain(
      'PUBLIC_BASE_URL: required in production',
    );
  });

  it('starts in development with no configuration at all, on SQLite and the emulator', () => {
    const env = validateEnvironment({});
    expect(env.PORT).toBe(3000);
    expect(env.DATABASE_URL).toBe('sqlite:data/bff.sqlite');
    expect(env.MYDEX_ISSUER).toBeUndefined();
  });

  it('validates one environment once: the same input answers the same frozen result, another input a new one', () => {
    const first = validateEnvironment({ PORT: '3100' });
    expect(validateEnvironment({ PORT: '3100', EMPTY: '  ' })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    const other = validateEnvironment({ PORT: '3101' });
    expect(other).not.toBe(first);
    expect(other.PORT).toBe(3101);
    expect(() => validateEnvironment({ PORT: 'x' })).toThrow(EnvironmentError);
    expect(validateEnvironment({ PORT: '3101' })).toBe(other);
  });

  it('names every bad variable in one error', () => {
    const problems = problemsOf({ PORT: 'eighty', DATABASE_URL: 'mysql://x', RATE_LIMITS: 'maybe', FRONTEND_ORIGINS: 'not a url' });
    expect(problems.map((p) => p.split(':')[0]).sort()).toEqual(['DATABASE_URL', 'FRONTEND_ORIGINS', 'PORT', 'RATE_LIMITS']);
  });

  it('refuses production without the Mydex settings and secrets', () => {
    const names = problemsOf({ NODE_ENV: 'production' }).map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining(['MYDEX_ISSUER', 'MYDEX_CLIENT_SECRET', 'MYDEX_CONNECTION_TOKEN', 'DATA_ENCRYPTION_KEY', 'MYDEX_PDX_URL']),
    );
  });

  it('refuses placeholder secrets in production and never echoes their values', () => {
    const problems = problemsOf({
      NODE_ENV: 'production',
      PUBLIC_BASE_URL: 'https://bff.example.org',
      FRONTEND_ORIGINS: 'https://app.example.org',
      MYDEX_ISSUER: 'https://op.mydexid.org',
      MYDEX_PDX_URL: 'https://api.mydex.org',
      MYDEX_CLIENT_ID: 'client',
      MYDEX_CONNECTION_NID: '45678',
      MYDEX_CLIENT_SECRET: 'change-me',
      MYDEX_CONNECTION_TOKEN: 'local-emulator-connection-token-not-for-production',
      DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    });
    expect(problems).toEqual([
      'MYDEX_CLIENT_SECRET: is a placeholder; set the real secret',
      'MYDEX_CONNECTION_TOKEN: is a placeholder; set the real secret',
    ]);
    expect(problems.join()).not.toContain('change-me');
  });

  it('accepts a complete production configuration', () => {
    const env = validateEnvironment(PRODUCTION);
    expect(env.NODE_ENV).toBe('production');
  });

  it('requires PUBLIC_BASE_URL and FRONTEND_ORIGINS in production, naming both', () => {
    const { PUBLIC_BASE_URL: _base, FRONTEND_ORIGINS: _origins, ...rest } = PRODUCTION;
    expect(problemsOf(rest)).toEqual([
      'FRONTEND_ORIGINS: required in production (the https origins of your frontends)',
      'PUBLIC_BASE_URL: required in production (the https URL Mydex and browsers reach)',
    ]);
  });

  it('refuses http for every production URL at once: base URL, each frontend origin, issuer and PDX API', () => {
    const problems = problemsOf({
      ...PRODUCTION,
      PUBLIC_BASE_URL: 'http://bff.example.org',
      FRONTEND_ORIGINS: 'https://app.example.org, http://localhost:3000',
      MYDEX_ISSUER: 'http://op.mydexid.org',
      MYDEX_PDX_URL: 'http://api.mydex.org',
    });
    expect(problems).toEqual([
      'FRONTEND_ORIGINS: every origin must be https:// in production',
      'MYDEX_ISSUER: must be an https:// URL in production',
      'MYDEX_PDX_URL: must be an https:// URL in production',
      'PUBLIC_BASE_URL: must be an https:// URL in production',
    ]);
  });

  it('names the https problems beside every other production problem in one error', () => {
    const names = problemsOf({ NODE_ENV: 'production', PUBLIC_BASE_URL: 'http://localhost:3000' }).map((p) => p.split(':')[0]);
    expect(names).toEqual(
      expect.arrayContaining(['PUBLIC_BASE_URL', 'FRONTEND_ORIGINS', 'MYDEX_ISSUER', 'MYDEX_PDX_URL', 'DATA_ENCRYPTION_KEY']),
    );
  });

  it('keeps development and test on their http://localhost defaults', () => {
    expect(validateEnvironment({ NODE_ENV: 'test' }).PUBLIC_BASE_URL).toBe('http://localhost:3000');
    expect(validateEnvironment({ NODE_ENV: 'development', MYDEX_ISSUER: 'http://127.0.0.1:4000' }).FRONTEND_ORIGINS).toBe(
      'http://localhost:3000',
    );
  });

  it('reads the metrics and API docs settings, and refuses malformed ones', () => {
    const env = validateEnvironment({ METRICS_TOKEN: 'a'.repeat(32), METRICS_PORT: '9464', API_DOCS: 'on' });
    expect([env.METRICS_TOKEN, env.METRICS_PORT, env.METRICS_HOST, env.API_DOCS]).toEqual(['a'.repeat(32), 9464, '127.0.0.1', 'on']);
    expect(validateEnvironment({}).METRICS_PORT).toBeUndefined();
    expect(problemsOf({ METRICS_TOKEN: 'short', METRICS_PORT: 'ninety', API_DOCS: 'yes' }).map((p) => p.split(':')[0])).toEqual([
      'API_DOCS',
      'METRICS_PORT',
      'METRICS_TOKEN',
    ]);
    expect(problemsOf({ ...PRODUCTION, METRICS_TOKEN: 'change-me-change-me-change-me' })).toEqual([
      'METRICS_TOKEN: is a placeholder; set a real token',
    ]);
  });

  it('rejects an encryption key that is not 32 bytes', () => {
    expect(problemsOf({ DATA_ENCRYPTION_KEY: Buffer.alloc(16).toString('base64') })).toEqual([
      'DATA_ENCRYPTION_KEY: must be 32 bytes, base64-encoded (openssl rand -base64 32)',
    ]);
  });

  it('reads the data-sharing agreement version and old data keys, and rejects malformed ones', () => {
    const env = validateEnvironment({
      MYDEX_CONNECTION_VERSION: '3',
      DATA_ENCRYPTION_KEYS_OLD: `${Buffer.alloc(32, 1).toString('base64')}, ${Buffer.alloc(32, 2).toString('base64')}`,
    });
    expect(env.MYDEX_CONNECTION_VERSION).toBe(3);
    expect(validateEnvironment({}).MYDEX_CONNECTION_VERSION).toBe(1);
    expect(problemsOf({ MYDEX_CONNECTION_VERSION: '0' }).map((p) => p.split(':')[0])).toEqual(['MYDEX_CONNECTION_VERSION']);
    expect(problemsOf({ MYDEX_CONNECTION_VERSION: 'two' }).map((p) => p.split(':')[0])).toEqual(['MYDEX_CONNECTION_VERSION']);
    expect(problemsOf({ DATA_ENCRYPTION_KEYS_OLD: `${Buffer.alloc(32).toString('base64')},short` })).toEqual([
      'DATA_ENCRYPTION_KEYS_OLD: must be a comma list of 32-byte base64 keys',
    ]);
  });
});
