import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ERROR_CODES } from '../src/common/problem/error-codes.js';

/**
 * What a generated client relies on, checked on the contract the frontends read (openapi.yaml, which
 * openapi-drift.e2e-spec.ts keeps equal to the code; OPENAPI_FILE checks another file, e.g. one just
 * generated): every operation has a stable, unique camelCase operationId and a described tag, and
 * every request body and 2xx/4xx response has an example that validates against its schema.
 *
 * ajv comes with Fastify (@fastify/ajv-compiler), a production dependency; OpenAPI 3.0 schemas are
 * JSON Schema plus `nullable` (ajv knows it) and annotations such as `example` (strict mode off).
 */
const FILE = process.env.OPENAPI_FILE ?? 'openapi.yaml';
const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

type Json = Record<string, unknown>;
interface MediaType {
  schema?: Json;
  example?: unknown;
  examples?: Record<string, { value?: unknown }>;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  requestBody?: { content?: Record<string, MediaType> };
  responses?: Record<string, { content?: Record<string, MediaType> }>;
}

const document = parse(readFileSync(FILE, 'utf8')) as {
  paths: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
  tags?: Array<{ name: string; description?: string }>;
  components: { schemas: Record<string, Json> };
};
const operations = Object.entries(document.paths).flatMap(([path, item]) =>
  METHODS.flatMap((method) => (item[method] ? [{ route: `${method.toUpperCase()} ${path}`, operation: item[method] }] : [])),
);

/**
 * The published names: a generated client's method names. Renaming one breaks every frontend that
 * calls it, so a change here is a breaking change of the contract (and a new route adds a line).
 */
const OPERATION_IDS: Readonly<Record<string, string>> = {
  'POST /v1/auth/oidc/authorize': 'startAuthorization',
  'GET /v1/auth/oidc/authorize': 'redirectToAuthorization',
  'GET /v1/auth/oidc/callback': 'handleAuthorizationCallback',
  'POST /v1/auth/oidc/backchannel-logout': 'receiveBackchannelLogout',
  'POST /v1/auth/session/exchange': 'exchangeSession',
  'GET /v1/session': 'getSession',
  'POST /v1/session/logout': 'logout',
  'POST /v1/session/logout-all': 'logoutAll',
  'POST /v1/registrations': 'createRegistration',
  'GET /v1/registrations/{id}': 'getRegistration',
  'GET /v1/invitations/{token}': 'getInvitation',
  'POST /v1/invitations/{token}/registration': 'registerWithInvitation',
  'GET /v1/registrations/{id}/return': 'returnFromRegistration',
  'POST /v1/registrations/{id}/return': 'confirmRegistrationReturn',
  'GET /v1/validation/rules': 'listValidationRules',
  'POST /v1/validation/registration': 'validateRegistration',
  'POST /v1/connections': 'startConnection',
  'GET /v1/connections/me': 'getMyConnection',
  'GET /v1/connections/return': 'returnFromConnection',
  'POST /v1/connections/callback': 'receiveConnectionCallback',
  'PUT /v1/connections/callback': 'updateConnectionCallback',
  'GET /health/live': 'getLiveness',
  'GET /health/ready': 'getReadiness',
  'GET /errors': 'listErrors',
  'GET /errors/{code}': 'getError',
};

/**
 * OpenAPI 3.0 → JSON Schema: `nullable: true` becomes "or null", and component references point
 * into the document registered as `openapi.json`.
 */
function toJsonSchema(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(toJsonSchema);
  if (value === null || typeof value !== 'object') return value;
  const { nullable, ...rest } = value as Json;
  const out = Object.fromEntries(
    Object.entries(rest).map(([key, inner]) => [
      key,
      key === '$ref' && typeof inner === 'string'
        ? inner.replace(/^#\/components\//, 'openapi.json#/components/')
        : key === 'example' || key === 'enum'
          ? inner
          : toJsonSchema(inner),
    ]),
  );
  return nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

const addFormats = ((addFormatsModule as unknown as { default?: unknown }).default ?? addFormatsModule) as (ajv: Ajv) => Ajv;
const ajv = addFormats(new Ajv({ strict: false, allErrors: true }));
ajv.addSchema({ components: toJsonSchema(document.components) }, 'openapi.json');

/** A media type's schema with its component references resolved against the document. */
function validatorFor(schema: Json): ValidateFunction {
  return ajv.compile(toJsonSchema(schema) as Json);
}

/** Every request body and every response with content, as `[where, media type]`. */
function mediaTypes(): Array<{ where: string; status?: string; type: string; media: MediaType }> {
  return operations.flatMap(({ route, operation }) => [
    ...Object.entries(operation.requestBody?.content ?? {}).map(([type, media]) => ({ where: `${route} request ${type}`, type, media })),
    ...Object.entries(operation.responses ?? {}).flatMap(([status, response]) =>
      Object.entries(response.content ?? {}).map(([type, media]) => ({ where: `${route} ${status} ${type}`, status, type, media })),
    ),
  ]);
}

function examplesOf(media: MediaType): unknown[] {
  return [...(media.example === undefined ? [] : [media.example]), ...Object.values(media.examples ?? {}).map((example) => example.value)];
}

describe(`the OpenAPI contract (${FILE}) for generated clients`, () => {
  it('gives every operation a camelCase operationId, unique across the document', () => {
    const ids = operations.map(({ route, operation }) => [route, operation.operationId] as const);
    const bad = ids.filter(([, id]) => typeof id !== 'string' || !/^[a-z][a-zA-Z0-9]*$/.test(id));
    expect(bad, 'operationIds must be camelCase verbs on resources, set in @ApiOperation({ operationId })').toEqual([]);
    const seen = new Map<string, string>();
    const duplicates = ids.filter(([route, id]) => seen.has(id ?? '') || (seen.set(id ?? '', route), false));
    expect(duplicates).toEqual([]);
  });

  it('keeps the published operationIds (renaming one is a breaking change)', () => {
    expect(Object.fromEntries(operations.map(({ route, operation }) => [route, operation.operationId]))).toEqual(OPERATION_IDS);
  });

  it('tags every operation with a tag the document describes, and describes only tags in use', () => {
    const described = new Map((document.tags ?? []).map((tag) => [tag.name, tag.description ?? '']));
    const untagged = operations.filter(({ operation }) => (operation.tags ?? []).length === 0).map(({ route }) => route);
    expect(untagged).toEqual([]);
    const undescribed = operations.flatMap(({ route, operation }) =>
      (operation.tags ?? []).filter((tag) => !described.get(tag)?.trim()).map((tag) => `${route}: ${tag}`),
    );
    expect(undescribed).toEqual([]);
    const used = new Set(operations.flatMap(({ operation }) => operation.tags ?? []));
    expect([...described.keys()].filter((tag) => !used.has(tag))).toEqual([]);
  });

  it('has an example for every request body and every 2xx and 4xx response', () => {
    const missing = mediaTypes()
      .filter(({ status }) => status === undefined || /^[24]/.test(status))
      .filter(({ media }) => examplesOf(media).length === 0)
      .map(({ where }) => where);
    expect(missing).toEqual([]);
  });

  it('has only examples that validate against their schema', () => {
    const invalid = mediaTypes().flatMap(({ where, media }) => {
      if (media.schema === undefined) return [];
      const validate = validatorFor(media.schema);
      return examplesOf(media)
        .filter((example) => !validate(example))
        .map(() => `${where}: ${ajv.errorsText(validate.errors)}`);
    });
    expect(invalid).toEqual([]);
  });

  it('shows problem examples with a catalogued code, its page as `type`, and the status they answer', () => {
    const wrong = mediaTypes()
      .filter(({ type }) => type === 'application/problem+json')
      .flatMap(({ where, status, media }) =>
        examplesOf(media).flatMap((example) => {
          const { code, type, status: answered } = example as { code?: string; type?: string; status?: number };
          const known = typeof code === 'string' && Object.hasOwn(ERROR_CODES, code);
          const statusOk = status === '4XX' ? answered !== undefined && answered >= 400 && answered < 500 : answered === Number(status);
          return known && type?.endsWith(`/errors/${code}`) && statusOk ? [] : [`${where}: ${JSON.stringify(example)}`];
        }),
      );
    expect(wrong).toEqual([]);
  });

  it('can fail: an example that breaks its schema is reported', () => {
    const validate = validatorFor({ $ref: '#/components/schemas/Problem' });
    expect(validate({ type: 'not a uri', title: 'x', status: '422', detail: 'x', code: 'x', requestId: 'x' })).toBe(false);
    expect(validate({ type: 'http://localhost:3000/errors/x', title: 'x', status: 422, detail: 'x', code: 'x', requestId: 'x' })).toBe(
      true,
    );
  });
});
