import { describe, expect, it } from 'vitest';
import { EnvironmentError, validateEnvironment } from '../config/environment.js';

const SECRET = `whsec_${Buffer.alloc(32, 9).toString('base64')}`;
const PRODUCTION = {
  NODE_ENV: 'production',
  PUBLIC_BASE_URL: 'https://bff.example.net',
  FRONTEND_ORIGINS: 'https://app.example.net',
  MYDEX_ISSUER: 'https://op.mydexid.org',
  MYDEX_PDX_URL: 'https://api.mydex.org',
  MYDEX_CLIENT_ID: 'client',
  MYDEX_CLIENT_SECRET: 'a-real-client-secret-value',
  MYDEX_CONNECTION_NID: '123',
  MYDEX_CONNECTION_TOKEN: 'a-real-connection-token',
  DATA_ENCRYPTION_KEY: Buffer.alloc(32, 5).toString('base64'),
};

function problems(env: Record<string, string>): string[] {
  try {
    validateEnvironment(env);
    return [];
  } catch (error) {
    if (error instanceof EnvironmentError) return error.problems;
    throw error;
  }
}

describe('webhook settings', () => {
  it('accepts the feature off, and on with a URL and a whsec_ secret', () => {
    expect(problems({})).toEqual([]);
    expect(
      problems({
        WEBHOOK_URL: 'http://localhost:9000/hooks',
        WEBHOOK_SECRET: SECRET,
        WEBHOOK_EVENTS: 'connection.established, registration.*',
      }),
    ).toEqual([]);
    expect(problems({ ...PRODUCTION, WEBHOOK_URL: 'https://hooks.example.net/bff', WEBHOOK_SECRET: SECRET })).toEqual([]);
  });

  it('names each bad webhook setting without echoing the secret', () => {
    const bad = 'whsec_dG9vIHNob3J0';
    const found = problems({
      WEBHOOK_URL: 'http://localhost:9000/hooks',
      WEBHOOK_SECRET: bad,
      WEBHOOK_RETRY_SCHEDULE: '5,soon',
      WEBHOOK_EVENTS: 'a b',
      WEBHOOK_TIMEOUT_MS: 'ten',
    });
    expect(found.map((problem) => problem.split(':')[0]).sort()).toEqual([
      'WEBHOOK_EVENTS',
      'WEBHOOK_RETRY_SCHEDULE',
      'WEBHOOK_SECRET',
      'WEBHOOK_TIMEOUT_MS',
    ]);
    expect(found.join('\n')).not.toContain(bad);
    expect(problems({ WEBHOOK_URL: 'http://localhost:9000/hooks' })).toEqual([
      expect.stringMatching(/^WEBHOOK_SECRET: required when WEBHOOK_URL is set/),
    ]);
    expect(problems({ WEBHOOK_SECRET: SECRET })).toEqual(['WEBHOOK_URL: required when WEBHOOK_SECRET is set']);
    expect(problems({ WEBHOOK_URL: 'http://user:pass@localhost:9000/hooks', WEBHOOK_SECRET: SECRET })).toEqual([
      expect.stringMatching(/^WEBHOOK_URL: must not carry credentials/),
    ]);
  });

  it('refuses a retry delay under 0.1 second and an event filter that matches no event', () => {
    const base = { WEBHOOK_URL: 'http://localhost:9000/hooks', WEBHOOK_SECRET: SECRET };
    expect(problems({ ...base, WEBHOOK_RETRY_SCHEDULE: '5,0' })).toEqual([
      expect.stringMatching(/^WEBHOOK_RETRY_SCHEDULE: every delay must be at least 0.1 second/),
    ]);
    expect(problems({ ...base, WEBHOOK_RETRY_SCHEDULE: '0.05' })).toHaveLength(1);
    expect(problems({ ...base, WEBHOOK_RETRY_SCHEDULE: '0.1,2.5' })).toEqual([]);
    expect(problems({ ...base, WEBHOOK_EVENTS: 'Connection.Established, conection.*, session.ended' })).toEqual([
      expect.stringMatching(/^WEBHOOK_EVENTS: Connection.Established, conection.\*, session.ended matches no event/),
    ]);
    expect(problems({ ...base, WEBHOOK_EVENTS: '*, connection.*, member.logged_in' })).toEqual([]);
  });

  it('requires an https WEBHOOK_URL in production', () => {
    expect(problems({ ...PRODUCTION, WEBHOOK_URL: 'http://hooks.example.net/bff', WEBHOOK_SECRET: SECRET })).toEqual([
      'WEBHOOK_URL: must be an https:// URL in production',
    ]);
  });
});
