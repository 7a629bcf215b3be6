import type { OpenAPIObject } from '@nestjs/swagger';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../src/common/problem/error-codes.js';
import { buildOpenApiDocument } from '../src/openapi/openapi.js';
import { registerWebMember, startBffStack } from './support/bff-stack.js';
import { FRONTEND_ORIGIN, NATIVE_REDIRECT_URI } from './support/oidc-browser.js';
import { keepAliveAgent, sendRaw, type RawRequest, type RawResponse } from './support/raw-http.js';

/**
 * Fuzz: every endpoint of the generated OpenAPI document (so a new endpoint is fuzzed without
 * editing this file), plus the undocumented ones, gets arbitrary methods, paths, query strings,
 * headers and bodies. Whatever arrives: never a 5xx, every 4xx is problem+json with a catalogued
 * code, and no body or header carries a stack trace, an internal error message or a configured
 * secret. The BFF talks to a running emulator so upstream-calling routes get past "Mydex is down".
 *
 * FUZZ_RUNS sets the cases per endpoint (default 200; .ci/run sets 2000). FUZZ_SEED replays a run.
 */

const RUNS = Math.max(8, Number.parseInt(process.env.FUZZ_RUNS ?? '', 10) || 200);
const SEED = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
/** Requests in flight at once. */
const BATCH = 8;

interface Endpoint {
  method: string;
  /** OpenAPI path template, e.g. /v1/registrations/{id}. */
  template: string;
  pathParams: string[];
  queryParams: string[];
  /** Property names of the request body schema(s). */
  fields: string[];
  label: string;
}

// --- the running stack: emulator + BFF, a member session, a registration id -------------------------

const stack = await startBffStack({ env: { RATE_LIMITS: 'off', MYDEX_TIMEOUT_MS: '3000' } });
const bff = stack.a.url;
const { secrets } = stack;
// One session for every route, and one that the logout route may end.
const session = await registerWebMember(bff);
const disposable = await registerWebMember(bff);
const registration = await fetch(`${bff}/v1/registrations`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({
    mydexid: `fuzz${Date.now().toString(36)}`,
    email: `fuzz${Date.now()}@example.org`,
    password: 'a long enough password',
  }),
});
const registrationId =
  ((await registration.json()) as { registrationId?: string }).registrationId ?? '00000000-0000-4000-8000-000000000000';

const document = buildOpenApiDocument(stack.a.app);
const ENDPOINTS = [...documentedEndpoints(document), ...undocumentedEndpoints()];

const counts = new Map<string, Map<number, number>>();
afterAll(async () => {
  const lines = [...counts].map(([label, statuses]) => {
    const total = [...statuses.values()].reduce((a, b) => a + b, 0);
    const by = [...statuses]
      .sort(([a], [b]) => a - b)
      .map(([status, n]) => `${status}:${n}`)
      .join(' ');
    return `  ${label.padEnd(42)} ${String(total).padStart(6)}  ${by}`;
  });
  const total = [...counts.values()].flatMap((m) => [...m.values()]).reduce((a, b) => a + b, 0);
  process.stdout.write(`fuzz: ${counts.size} endpoints, ${total} requests (FUZZ_RUNS=${RUNS})\n${lines.join('\n')}\n`);
  keepAliveAgent.destroy();
  await stack.close();
});

function documentedEndpoints(doc: OpenAPIObject): Endpoint[] {
  const endpoints: Endpoint[] = [];
  for (const [template, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      const parameters = (operation.parameters ?? []) as { in: string; name: string }[];
      const content = (operation.requestBody as { content?: Record<string, { schema?: unknown }> } | undefined)?.content ?? {};
      const fields = new Set<string>();
      for (const media of Object.values(content)) propertiesOf(doc, media.schema).forEach((name) => fields.add(name));
      endpoints.push({
        method: method.toUpperCase(),
        template,
        pathParams: parameters.filter((p) => p.in === 'path').map((p) => p.name),
        queryParams: parameters.filter((p) => p.in === 'query').map((p) => p.name),
        fields: [...fields],
        label: `${method.toUpperCase()} ${template}`,
      });
    }
  }
  return endpoints;
}

function propertiesOf(doc: OpenAPIObject, schema: unknown): string[] {
  if (!schema || typeof schema !== 'object') return [];
  const s = schema as { $ref?: string; oneOf?: unknown[]; anyOf?: unknown[]; allOf?: unknown[]; properties?: Record<string, unknown> };
  if (s.$ref) return propertiesOf(doc, doc.components?.schemas?.[s.$ref.split('/').pop()!]);
  return [
    ...Object.keys(s.properties ?? {}),
    ...[...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])].flatMap((x) => propertiesOf(doc, x)),
  ];
}

/** Routes served outside the documented API, and paths that match no route at all. */
function undocumentedEndpoints(): Endpoint[] {
  const bare = (method: string, template: string, label = `${method} ${template}`): Endpoint => ({
    method,
    template,
    pathParams: [],
    queryParams: [],
    fields: [],
    label,
  });
  return [
    bare('GET', '/metrics'),
    bare('GET', '/openapi.yaml'),
    bare('GET', '/openapi.json'),
    bare('GET', '/docs'),
    bare('GET', '/'),
    { ...bare('POST', '/v1/{a}/{b}', 'any method, unknown paths under /v1'), pathParams: ['a', 'b'] },
  ];
}

// --- generators ----------------------------------------------------------------------------------

/** Strings the BFF has reason to treat specially. */
const INTERESTING = [
  '',
  ' ',
  '0',
  '-1',
  '1e309',
  'NaN',
  'null',
  'true',
  '[]',
  '{}',
  '__proto__',
  'constructor',
  'prototype',
  '../../etc/passwd',
  '%00',
  '\u0000',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  'a'.repeat(300),
  '😀'.repeat(40),
  'https://app.example/',
  `${FRONTEND_ORIGIN}/x?y=1`,
  'https://evil.example/',
  '//evil.example',
  'javascript:alert(1)',
  NATIVE_REDIRECT_URI,
  'register',
  'login',
  'web',
  'native',
  'alice2024',
  'alice@example.org',
  '12345',
  '00000000-0000-4000-8000-000000000000',
  registrationId,
];

/** A UTF-16 surrogate without its pair (not Unicode): JSON.stringify writes it as a `\udXXX` escape. */
const loneSurrogate = fc
  .oneof(fc.integer({ min: 0xd800, max: 0xdbff }), fc.integer({ min: 0xdc00, max: 0xdfff }))
  .map((unit) => String.fromCharCode(unit));
/** Text with lone surrogates in it: alone, around an email, a high surrogate before an ordinary character. */
const notUnicode = fc.oneof(
  fc.tuple(fc.string({ maxLength: 8 }), loneSurrogate, fc.string({ maxLength: 8 })).map(([a, lone, b]) => `${a}${lone}${b}`),
  loneSurrogate.map((lone) => `${lone}@b.co`),
  fc.constantFrom('\udfff@b.co', '\ud800', 'alice\ud83d', '\ud83dA', '\ude00\ud83d'),
);

const jsonText = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  { weight: 3, arbitrary: fc.constantFrom(...INTERESTING) },
  { weight: 1, arbitrary: notUnicode },
);

const headerChar = fc
  .integer({ min: 0x20, max: 0xff })
  .filter((c) => c !== 0x7f)
  .map((c) => String.fromCharCode(c));
const headerText = fc.oneof(
  fc.string({ unit: headerChar, maxLength: 60 }),
  fc.constantFrom(...INTERESTING.filter((s) => /^[\x20-\x7e]*$/.test(s))),
);

function encode(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    // A lone surrogate: send its UTF-16 units as raw percent escapes (an invalid UTF-8 sequence).
    return [...value].map((ch) => `%${(ch.charCodeAt(0) & 0xff).toString(16).padStart(2, '0')}`).join('');
  }
}

const RAW_SEGMENTS = [
  '%',
  '%zz',
  '%E0%A4%A',
  '%FF',
  '%00',
  '..',
  '.',
  '%2e%2e',
  '%2F',
  ';',
  ',',
  '~',
  "'",
  '*',
  '@',
  '!',
  '$',
  '(',
  ')',
  '%20',
];
const pathSegment = fc.oneof(
  { weight: 4, arbitrary: jsonText.map(encode) },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constant(registrationId) },
  { weight: 2, arbitrary: fc.constantFrom(...RAW_SEGMENTS) },
);

const RAW_QUERY = ['%', '%zz', '%E0%A4%A', '&&', '=', '==&=', '%00', 'a=%FF', 'a[', 'a]=1', 'returnTo=%', '?', '#x'];
function queryArb(names: string[]): fc.Arbitrary<string> {
  const key = fc.oneof(
    { weight: names.length > 0 ? 4 : 0, arbitrary: names.length > 0 ? fc.constantFrom(...names) : fc.constant('x') },
    {
      weight: 1,
      arbitrary: names.length > 0 ? fc.constantFrom(...names.map((n) => `${n}[]`), ...names.map((n) => `${n}[a][b]`)) : fc.constant('x[]'),
    },
    { weight: 2, arbitrary: jsonText },
  );
  const arbitraryPair = fc.tuple(key, jsonText);
  // Documented parameters with mostly-valid values, so the fuzz gets past validation too.
  const plausiblePair =
    names.length > 0
      ? fc.constantFrom(...names).chain((name) =>
          fc.tuple(
            fc.constant(name),
            plausible(name).map((v) => (typeof v === 'string' ? v : JSON.stringify(v))),
          ),
        )
      : arbitraryPair;
  const pair = fc.oneof(arbitraryPair, plausiblePair).map(([k, v]) => `${encode(k)}=${encode(v)}`);
  return fc
    .array(fc.oneof({ weight: 5, arbitrary: pair }, { weight: 1, arbitrary: fc.constantFrom(...RAW_QUERY) }), { maxLength: 6 })
    .map((parts) => (parts.length > 0 ? `?${parts.join('&')}` : ''));
}

/** Mostly-valid values for known fields, so the fuzz also reaches past validation into the services. */
function plausible(field: string): fc.Arbitrary<unknown> {
  const map: Record<string, fc.Arbitrary<unknown>> = {
    mydexid: fc.stringMatching(/^[a-z][a-z0-9]{3,12}$/),
    email: fc.oneof({ weight: 5, arbitrary: fc.emailAddress() }, { weight: 1, arbitrary: notUnicode }),
    password: fc.string({ minLength: 8, maxLength: 30 }),
    intent: fc.constantFrom('register', 'login'),
    client: fc.constantFrom('web', 'native'),
    returnTo: fc.constantFrom(`${FRONTEND_ORIGIN}/`, `${FRONTEND_ORIGIN}/welcome`, '/relative', NATIVE_REDIRECT_URI),
    appRedirectUri: fc.constant(NATIVE_REDIRECT_URI),
    postLogoutRedirectUri: fc.constantFrom(`${FRONTEND_ORIGIN}/`, 'https://evil.example/'),
    code: fc.base64String({ maxLength: 44 }),
    exchangeSecret: fc.base64String({ maxLength: 44 }),
    uid: fc.oneof(fc.nat(), fc.nat().map(String)),
    connection_id: fc.nat({ max: 9999 }).map((uid) => `${uid}-${stack.env.MYDEX_CONNECTION_NID}`),
    key: fc.string({ minLength: 1, maxLength: 64 }),
    version: fc.oneof(fc.nat({ max: 5 }), fc.nat({ max: 5 }).map(String)),
    fields: fc.constant({ field_ds_personal_details: [[{ access: { r: { a: '1', s: 'A' } } }]] }),
  };
  return map[field] ?? fc.jsonValue({ maxDepth: 2 });
}

function bodyObject(fields: string[]): fc.Arbitrary<Record<string, unknown>> {
  const known = Object.fromEntries(
    fields.map((field) => [
      field,
      // A JSON value of the wrong type (null most of all: `@IsOptional()` let it through to code that
      // expected a string or nothing, a 500 found with FUZZ_SEED=2102462858).
      fc.oneof(
        { weight: 3, arbitrary: plausible(field) },
        { weight: 2, arbitrary: jsonText },
        { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
        { weight: 1, arbitrary: fc.constantFrom(null, 0, false, [], {}) },
      ),
    ]),
  );
  return fc
    .tuple(fc.record(known, { requiredKeys: [] }), fc.dictionary(jsonText, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }))
    .map(([a, extra]) => ({ ...extra, ...a }));
}

/** Every known field with a mostly-valid value: the bodies most likely to be accepted. */
function complete(fields: string[]): fc.Arbitrary<Record<string, unknown>> {
  return fc.record(Object.fromEntries(fields.map((field) => [field, plausible(field)]))).map((body) =>
    // Mydex's connection id is `<uid>-<NID>`; a callback whose two disagree is refused before it is stored.
    'uid' in body && 'connection_id' in body ? { ...body, connection_id: `${String(body.uid)}-${stack.env.MYDEX_CONNECTION_NID}` } : body,
  );
}

function formEncode(value: Record<string, unknown>): string {
  const parts: string[] = [];
  const walk = (prefix: string, v: unknown) => {
    if (v !== null && typeof v === 'object') for (const [k, inner] of Object.entries(v)) walk(prefix ? `${prefix}[${k}]` : k, inner);
    else parts.push(`${encode(prefix)}=${encode(String(v))}`);
  };
  walk('', value);
  return parts.join('&');
}

const TOO_LARGE = Buffer.alloc(1024 * 1024 + 10, 'x');
/** Over the 16 KiB every route but the Mydex callback accepts (src/common/http/json-body.ts). */
const OVER_DEFAULT = Buffer.from(JSON.stringify({ email: 'a@b.co', padding: 'x'.repeat(17 * 1024) }));
/** 60,000 distinct keys (about 650 KB): the body that once held the event loop for seconds. */
const MANY_KEYS = Buffer.from(JSON.stringify(Object.fromEntries(Array.from({ length: 60_000 }, (_, i) => [`k${i}`, 0]))));

/** Many keys (flat, or spread over nested objects and arrays), and deep nesting, in any size. */
const complexBody = fc.oneof(
  fc.integer({ min: 100, max: 3000 }).map((n) => JSON.stringify(Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i])))),
  fc
    .integer({ min: 10, max: 600 })
    .map((n) => JSON.stringify({ fields: Array.from({ length: n }, (_, i) => ({ [`f${i}`]: [i, { a: '1' }] })) })),
  fc
    .tuple(fc.integer({ min: 5, max: 40_000 }), fc.constantFrom('[', '{"a":'))
    .map(([depth, open]) => `${open.repeat(depth)}1${(open === '[' ? ']' : '}').repeat(depth)}`),
);

function bodyArb(fields: string[]): fc.Arbitrary<{ body: Buffer | undefined; kind: 'json' | 'form' | 'other' }> {
  return fc.oneof(
    { weight: 10, arbitrary: fc.constant({ body: undefined, kind: 'other' as const }) },
    { weight: 30, arbitrary: bodyObject(fields).map((o) => ({ body: Buffer.from(JSON.stringify(o)), kind: 'json' as const })) },
    { weight: 10, arbitrary: complete(fields).map((o) => ({ body: Buffer.from(JSON.stringify(o)), kind: 'json' as const })) },
    { weight: 5, arbitrary: complete(fields).map((o) => ({ body: Buffer.from(formEncode(o)), kind: 'form' as const })) },
    { weight: 10, arbitrary: fc.json({ maxDepth: 3 }).map((s) => ({ body: Buffer.from(s), kind: 'json' as const })) },
    { weight: 10, arbitrary: bodyObject(fields).map((o) => ({ body: Buffer.from(formEncode(o)), kind: 'form' as const })) },
    { weight: 10, arbitrary: jsonText.map((s) => ({ body: Buffer.from(s), kind: 'other' as const })) },
    { weight: 5, arbitrary: fc.uint8Array({ maxLength: 64 }).map((b) => ({ body: Buffer.from(b), kind: 'other' as const })) },
    {
      weight: 5,
      arbitrary: fc
        .constantFrom('{"a":', '{"__proto__":{"x":1}}', '{"constructor":{"prototype":{"x":1}}}', '[1,2', '\uFEFF{}', '"str"', '123', 'null')
        .map((s) => ({ body: Buffer.from(s), kind: 'json' as const })),
    },
    { weight: 5, arbitrary: fc.constant({ body: Buffer.from(JSON.stringify({ mydexid: 'x'.repeat(2000) })), kind: 'json' as const }) },
    { weight: 1, arbitrary: fc.constant({ body: TOO_LARGE, kind: 'json' as const }) },
    { weight: 1, arbitrary: fc.constant({ body: OVER_DEFAULT, kind: 'json' as const }) },
    { weight: 1, arbitrary: fc.constant({ body: MANY_KEYS, kind: 'json' as const }) },
    { weight: 4, arbitrary: complexBody.map((s) => ({ body: Buffer.from(s), kind: 'json' as const })) },
    {
      weight: 3,
      arbitrary: fc
        .dictionary(notUnicode, notUnicode, { minKeys: 1, maxKeys: 3 })
        .map((o) => ({ body: Buffer.from(JSON.stringify(o)), kind: 'json' as const })),
    },
  );
}

const CONTENT_TYPES = [
  'application/json; charset=utf-8',
  'application/json; charset=utf-16',
  'application/json;charset=latin1',
  'APPLICATION/JSON',
  'application/x-www-form-urlencoded; charset=iso-8859-1',
  'text/plain',
  'text/html',
  'multipart/form-data; boundary=x',
  'multipart/form-data',
  'application/problem+json',
  'application/merge-patch+json',
  'application/xml',
  'application/octet-stream',
  '*/*',
  '',
  ';',
  'application/',
  'json',
  'application/json; boundary="',
  'application/jsonx',
  'application/json, text/plain',
];

function contentTypeFor(kind: 'json' | 'form' | 'other'): fc.Arbitrary<string | undefined> {
  const natural = kind === 'form' ? 'application/x-www-form-urlencoded' : 'application/json';
  return fc.oneof(
    { weight: 6, arbitrary: fc.constant(natural) },
    { weight: 3, arbitrary: fc.constantFrom(...CONTENT_TYPES) },
    { weight: 1, arbitrary: headerText },
    { weight: 1, arbitrary: fc.constant(undefined) },
  );
}

function sessionCookieFor(endpoint: Endpoint): string {
  return endpoint.template === '/v1/session/logout' ? disposable.cookie : session.cookie;
}

function headersArb(endpoint: Endpoint): fc.Arbitrary<Record<string, string>> {
  const known = fc.record(
    {
      'x-csrf': fc.oneof(fc.constantFrom('1', '0', '', 'true'), headerText),
      authorization: fc.oneof(
        fc.constant(`Bearer ${secrets.callbackAuth}`),
        fc.constant(`Bearer ${sessionCookieFor(endpoint)}`),
        headerText.map((v) => `Bearer ${v}`),
        headerText.map((v) => `Basic ${v}`),
        headerText,
      ),
      authentication: fc.oneof(
        { weight: 4, arbitrary: fc.constant(secrets.callbackAuth) },
        { weight: 1, arbitrary: fc.constant(secrets.callbackAuth.toUpperCase()) },
        { weight: 1, arbitrary: fc.stringMatching(/^[0-9a-f]{128}$/) },
        { weight: 2, arbitrary: headerText },
      ),
      cookie: fc.oneof(
        { weight: 4, arbitrary: fc.constant(`bff_session=${sessionCookieFor(endpoint)}`) },
        { weight: 1, arbitrary: headerText.map((v) => `bff_session=${v}`) },
        { weight: 1, arbitrary: headerText.map((v) => `__Host-bff_session=${v}; bff_tx=${v}`) },
        { weight: 1, arbitrary: fc.constant(`bff_session=${sessionCookieFor(endpoint)}; bff_session=other`) },
        { weight: 1, arbitrary: headerText },
      ),
      'idempotency-key': fc.oneof(fc.uuid(), headerText, fc.constant('k'.repeat(300))),
      'x-request-id': fc.oneof(fc.uuid(), headerText, fc.constant('r'.repeat(500))),
      origin: fc.oneof(fc.constantFrom(FRONTEND_ORIGIN, 'https://evil.example', 'null'), headerText),
      accept: fc.oneof(
        fc.constantFrom('application/json', 'application/problem+json', 'text/html', '*/*', 'application/xml', 'image/png'),
        headerText,
      ),
      'accept-encoding': fc.constantFrom('gzip', 'br', 'deflate', 'identity', '*', 'x'),
      'content-encoding': fc.oneof(fc.constantFrom('gzip', 'br', 'identity'), headerText),
      'x-forwarded-for': fc.oneof(fc.ipV4(), fc.ipV6(), headerText),
      'access-control-request-method': fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'X'),
    },
    { requiredKeys: [] },
  );
  const extraName = fc
    .stringMatching(/^[a-z][a-z0-9-]{0,20}$/)
    .filter(
      (n) => !['host', 'content-length', 'transfer-encoding', 'connection', 'expect', 'upgrade', 'te', 'trailer', 'keep-alive'].includes(n),
    );
  return fc.tuple(known, fc.dictionary(extraName, headerText, { maxKeys: 3 })).map(([a, extra]) => ({ ...extra, ...a }));
}

function requestArb(endpoint: Endpoint): fc.Arbitrary<RawRequest> {
  const method = fc.oneof(
    { weight: 9, arbitrary: fc.constant(endpoint.method) },
    { weight: 1, arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS') },
  );
  const params = fc.tuple(...endpoint.pathParams.map(() => pathSegment));
  const suffix = fc.oneof(
    { weight: 8, arbitrary: fc.constant('') },
    { weight: 1, arbitrary: fc.constantFrom('/', '//', '/x', '.json', '%20', '/..') },
  );
  return fc
    .record({
      method,
      params,
      suffix,
      query: queryArb(endpoint.queryParams),
      body: bodyArb(endpoint.fields),
      headers: headersArb(endpoint),
    })
    .chain((r) => contentTypeFor(r.body.kind).map((contentType) => ({ ...r, contentType })))
    .map(({ method: m, params: values, suffix: s, query, body, headers, contentType }) => {
      let path = endpoint.template;
      endpoint.pathParams.forEach((name, i) => (path = path.replace(`{${name}}`, values[i] ?? '')));
      const all = { ...headers };
      if (contentType !== undefined && body.body !== undefined) all['content-type'] = contentType;
      return { method: m, path: `${path}${s}${query}`, headers: all, body: m === 'GET' || m === 'HEAD' ? undefined : body.body };
    });
}

// --- the checks ----------------------------------------------------------------------------------

const SECRETS = [secrets.clientSecret, secrets.connectionToken, secrets.callbackAuth, secrets.dataEncryptionKey];
const STACK_TRACE = [
  /\n\s+at \S/,
  /\bat [\w.<>]+ \(.*:\d+:\d+\)/,
  /\.(?:ts|js|mjs|cjs):\d+:\d+/,
  /node_modules/,
  /file:\/\//,
  new RegExp(process.cwd().replace(/[.*+?^${}()|[\]\\]/g, '\\$&')),
];
const INTERNAL_MESSAGES =
  /TypeError|ReferenceError|RangeError|QueryFailedError|EntityNotFound|SQLITE_|ECONNREFUSED|Cannot read propert|is not a function|is not defined|relation ".*" does not exist/;

function findings(req: RawRequest, res: RawResponse): string[] {
  const out: string[] = [];
  if (res.status >= 500) out.push(`status ${res.status}`);
  const contentType = String(res.headers['content-type'] ?? '');
  if (res.status >= 400 && res.status < 500 && req.method !== 'HEAD') {
    if (!contentType.startsWith('application/problem+json')) out.push(`4xx with content-type "${contentType}"`);
    try {
      const body = JSON.parse(res.body) as { code?: unknown; status?: unknown };
      if (typeof body.code !== 'string' || !(body.code in ERROR_CODES)) out.push(`4xx without a catalogued code: ${String(body.code)}`);
      if (body.status !== res.status) out.push(`problem status ${String(body.status)} differs from ${res.status}`);
    } catch {
      out.push('4xx body is not JSON');
    }
  }
  const visible = `${JSON.stringify(res.headers)}\n${res.body}`;
  for (const secret of SECRETS) if (visible.includes(secret)) out.push('a configured secret in the response');
  // Only the BFF's own answers are inspected for traces; the Swagger UI's JavaScript at /docs is not ours.
  if (!contentType.startsWith('text/html') && !contentType.includes('javascript')) {
    for (const pattern of STACK_TRACE) if (pattern.test(res.body)) out.push(`stack trace or path (${pattern.source})`);
    if (INTERNAL_MESSAGES.test(res.body)) out.push(`internal error message: ${INTERNAL_MESSAGES.exec(res.body)![0]}`);
  }
  return out;
}

function describeRequest(req: RawRequest): string {
  const cut = (text: string, n: number) => (text.length > n ? `${text.slice(0, n)}…(${text.length})` : text);
  const headers = Object.entries(req.headers).map(([name, value]) => `${name}: ${cut(value, 60)}`);
  const body = req.body === undefined ? '(no body)' : cut(req.body.toString(), 200);
  return `${req.method} ${cut(req.path, 200)}\n  ${headers.join('\n  ')}\n  ${body}`;
}

/** Sends one request; answers what was wrong with the answer ([] when nothing). */
async function exchange(endpoint: Endpoint, req: RawRequest): Promise<string[]> {
  let res: RawResponse;
  try {
    res = await sendRaw(bff, req);
  } catch (error) {
    // Fastify may answer 413 and close before a too-large body is fully written: that is not a fault.
    if (req.body === TOO_LARGE || req.body === MANY_KEYS || req.body === OVER_DEFAULT) return [];
    return [`no answer (${(error as Error).message})`];
  }
  const tally = counts.get(endpoint.label) ?? new Map<number, number>();
  tally.set(res.status, (tally.get(res.status) ?? 0) + 1);
  counts.set(endpoint.label, tally);
  return findings(req, res).map((finding) => `${res.status} ${finding}\n${describeRequest(req)}\n  → ${res.body.slice(0, 300)}`);
}

describe(`fuzz: every endpoint, ${RUNS} cases each (FUZZ_RUNS)`, () => {
  it('enumerates the documented endpoints from the generated OpenAPI document', () => {
    expect(ENDPOINTS.map((e) => e.label)).toEqual(
      expect.arrayContaining(['POST /v1/registrations', 'GET /v1/registrations/{id}', 'POST /v1/connections/callback', 'GET /v1/session']),
    );
    expect(registration.status).toBe(201);
  });

  it('every body field of every route, alone or beside valid ones, as null or another wrong JSON type: a 4xx problem, never a 5xx', async () => {
    const problems: string[] = [];
    const wrong: unknown[] = [null, 0, -1, true, [], {}, [null], { a: null }, '', Number.MAX_VALUE];
    for (const endpoint of ENDPOINTS.filter((e) => e.fields.length > 0)) {
      const valid = fc.sample(complete(endpoint.fields), { numRuns: 1, seed: 1 })[0]!;
      const headers: Record<string, string> = {
        'content-type': 'application/json',
        'x-csrf': '1',
        origin: FRONTEND_ORIGIN,
        cookie: `bff_session=${sessionCookieFor(endpoint)}`,
        authentication: secrets.callbackAuth,
      };
      for (const field of endpoint.fields) {
        for (const value of wrong) {
          for (const body of [{ [field]: value }, { ...valid, [field]: value }]) {
            const path = endpoint.pathParams.reduce((p, name) => p.replace(`{${name}}`, registrationId), endpoint.template);
            const req: RawRequest = { method: endpoint.method, path, headers, body: Buffer.from(JSON.stringify(body)) };
            problems.push(
              ...(await exchange(endpoint, req)).filter(
                (finding) => finding.startsWith('5') || finding.includes('without a catalogued code'),
              ),
            );
          }
        }
      }
    }
    expect(problems).toEqual([]);
  }, 120_000);

  for (const endpoint of ENDPOINTS) {
    it(
      `${endpoint.label}: never a 5xx, 4xx always problem+json with a code, no stack trace or secret`,
      async () => {
        const seed = SEED ?? Math.floor(Math.random() * 2 ** 31);
        const requests = fc.sample(requestArb(endpoint), { numRuns: RUNS, seed });
        // One example per kind of finding (status and what was wrong), so a report lists every distinct bug.
        const kinds = new Map<string, string>();
        for (let i = 0; i < requests.length; i += BATCH) {
          const found = await Promise.all(requests.slice(i, i + BATCH).map((req) => exchange(endpoint, req)));
          for (const finding of found.flat()) {
            const kind = finding.split('\n')[0]!;
            if (!kinds.has(kind)) kinds.set(kind, finding);
          }
        }
        expect([...kinds.values()], `FUZZ_SEED=${seed} replays this run`).toEqual([]);
      },
      Math.max(60_000, RUNS * 60),
    );
  }
});
