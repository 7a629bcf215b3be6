import { createHash } from 'node:crypto';

/**
 * The benchmarked endpoints: one entry each. A later feature adds its endpoint here; give it a
 * `baseline` only when bench/baseline.ts answers the same path with the same work.
 */
export interface BenchEndpoint {
  /** Short label for the table. */
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** The status every response must have; a run with any other status is reported as failed. */
  status: number;
  /** true when bench/baseline.ts serves this endpoint; the ratio column compares against it. */
  baseline: boolean;
  /** false when the two answers differ by nature (random URLs, another member): then only the status is compared. */
  sameBody?: false;
  /** The targets the endpoint's issue sets; omitted targets are not checked. */
  targets?: { minRatio?: number; maxP99AtHalfPeakMs?: number };
}

const json = { 'content-type': 'application/json' };
const VALIDATION_TARGETS = { minRatio: 0.6, maxP99AtHalfPeakMs: 10 };

export const ENDPOINTS: BenchEndpoint[] = [
  {
    name: 'validate registration (valid)',
    method: 'POST',
    path: '/v1/validation/registration',
    headers: json,
    body: JSON.stringify({ mydexid: 'alice2024', email: 'alice@example.org', password: 'correct horse battery' }),
    status: 200,
    baseline: true,
    targets: VALIDATION_TARGETS,
  },
  {
    name: 'validate registration (5 errors)',
    method: 'POST',
    path: '/v1/validation/registration',
    headers: json,
    body: JSON.stringify({ mydexid: ' 12 ', email: 'not-an-address', password: '12', extra: 'ignored' }),
    status: 200,
    baseline: true,
    targets: VALIDATION_TARGETS,
  },
  {
    name: 'validation rules catalogue',
    method: 'GET',
    path: '/v1/validation/rules',
    status: 200,
    baseline: true,
  },
  {
    // A member's bearer session: hash the token, look the session up, answer the member.
    name: 'session lookup (bearer)',
    method: 'GET',
    path: '/v1/session',
    headers: { authorization: 'Bearer {{sessionToken}}' },
    status: 200,
    baseline: true,
    sameBody: false,
  },
  {
    // Start of an OIDC login: state, nonce and PKCE made and stored (one row), the provider URL built.
    name: 'OIDC authorize (native)',
    method: 'POST',
    path: '/v1/auth/oidc/authorize',
    headers: json,
    body: JSON.stringify({ intent: 'login', client: 'native', appRedirectUri: 'com.example.bench:/oauth/callback' }),
    status: 200,
    baseline: true,
    sameBody: false,
  },
  {
    // Mydex's FTC callback: auth, form parsing, validation, AES-GCM, and the durable upsert + event in one
    // transaction. Needs the BFF started with MYDEX_CONNECTION_NID=1 and MYDEX_CONNECTION_TOKEN=bench-connection-token.
    name: 'connection callback (form, upsert)',
    method: 'POST',
    path: '/v1/connections/callback',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authentication: createHash('sha512').update('bench-connection-token').digest('hex'),
    },
    body:
      'uid=587&mydexid=bench587&key=bench-member-key-0123456789abcdef&connection_id=587-1' +
      '&fields[field_ds_personal_details][0][][access][r][a]=1&fields[field_ds_personal_details][0][][access][r][s]=A' +
      '&fields[field_ds_contact_details][0][][access][r][a]=1&fields[field_ds_contact_details][0][][access][w][s]=R',
    status: 200,
    baseline: true,
    targets: { minRatio: 0.3 },
  },
];
