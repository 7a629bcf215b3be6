import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { stringify } from 'yaml';
import { ERROR_CODES, type ErrorCode, isErrorCode, STATUS_CODES } from '../common/problem/error-codes.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { validationFailedDetail } from '../common/problem/validation-exception.factory.js';
import { validateEnvironment } from '../config/environment.js';
import { apiDocsEnabled } from '../config/exposure.config.js';
import { EXAMPLE_PROBLEM_TYPE_BASE, EXAMPLE_PUBLIC_BASE_URL, EXAMPLE_REQUEST_ID, exampleProblem } from './examples.js';

/**
 * The document's tags: one per capability, each with a description. Every operation carries one
 * (`@ApiTags` on its controller); test/openapi-contract.e2e-spec.ts fails on an undescribed tag.
 */
export const TAGS: ReadonlyArray<{ name: string; description: string }> = [
  {
    name: 'auth',
    description:
      'Registration and login delegated to Mydex over OpenID Connect, the native session exchange, and back-channel logout from Mydex.',
  },
  { name: 'session', description: "The signed-in member's session (web cookie or native bearer token) and logout." },
  { name: 'registrations', description: "Registration through the app's own form: Mydex's PDX API, then Mydex's Private Key form." },
  { name: 'validation', description: "Mydex's registration rules as a catalogue, and a check of registration details against them." },
  {
    name: 'connections',
    description: "Connecting the member's PDS to the subscriber's Dedicated Connection (First Time Connection), and Mydex's callbacks.",
  },
  { name: 'health', description: 'Liveness and readiness probes for orchestrators and load balancers.' },
  { name: 'errors', description: 'The problem codes: every problem `type` URL resolves to a page here.' },
];

export function buildOpenApiDocument(app: INestApplication): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('Mydex registration BFF')
    .setDescription(
      'Backend-for-frontend that registers members for a MydexID and Personal Data Store, logs them in, ' +
        'and connects their PDS to the Dedicated Connection. Every error is RFC 9457 application/problem+json ' +
        'with a stable `code`; every response carries `X-Request-Id`.',
    )
    .setVersion('1')
    .setLicense('UNLICENSED', 'https://example.invalid/license')
    .addServer(EXAMPLE_PUBLIC_BASE_URL, 'Local development');
  for (const tag of TAGS) config.addTag(tag.name, tag.description);
  // Every operation names its own operationId in @ApiOperation (verbs on resources, camelCase, what a
  // generated client keeps); Nest's default `Controller_method` fails the contract test.
  const document = SwaggerModule.createDocument(app, config.build());
  return withExamples(withProblemResponses(document));
}

const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details. Switch on `code`; it never changes meaning.',
  required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
  properties: {
    type: {
      type: 'string',
      format: 'uri',
      description: 'Resolves to a page about the code: `{PUBLIC_BASE_URL}/errors/{code}` unless the operator sets PROBLEM_TYPE_BASE_URL',
      example: `${EXAMPLE_PROBLEM_TYPE_BASE}validation_failed`,
    },
    title: { type: 'string', example: 'The request has invalid fields' },
    status: { type: 'integer', example: 422 },
    detail: { type: 'string', example: validationFailedDetail(2) },
    code: { type: 'string', description: 'Stable snake_case error code', example: 'validation_failed' },
    requestId: { type: 'string', description: 'Also in the X-Request-Id response header', example: EXAMPLE_REQUEST_ID },
    errors: {
      type: 'array',
      description: 'Field errors, in rule order per field',
      items: {
        type: 'object',
        required: ['field', 'code', 'message', 'params'],
        properties: {
          field: { type: 'string', example: 'mydexid' },
          code: { type: 'string', example: 'mydexid_digits_only' },
          message: { type: 'string', example: 'A MydexID cannot be made up only of digits.' },
          params: {
            type: 'object',
            description:
              'The rule\'s parameters from the catalogue (GET /v1/validation/rules), e.g. `{"min": 8}`, so a frontend can translate by `code`; `{}` when the rule has none',
            additionalProperties: true,
            example: { pattern: '[^0-9]' },
          },
        },
      },
    },
  },
} as const;

/**
 * Every error of every operation is a Problem: error responses documented by description only get the
 * schema, and operations get a generic 4XX (unknown method 405, 413, 415, 429 apply everywhere).
 */
function withProblemResponses(document: OpenAPIObject): OpenAPIObject {
  document.components ??= {};
  document.components.schemas = { ...document.components.schemas, Problem: PROBLEM_SCHEMA as never };
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        if (/^[45]/.test(status) && response && 'description' in response && !response.content) {
          operation.responses[status] = { ...response, content: PROBLEM };
        }
      }
      if (!Object.keys(operation.responses ?? {}).some((status) => status.startsWith('4'))) {
        operation.responses['4XX'] = {
          description: 'problem+json: e.g. `method_not_allowed`, `payload_too_large`, `unsupported_media_type`, `rate_limited`',
          content: PROBLEM,
        };
      }
    }
  }
  return document;
}

const SUB = '9f2c4b7e1d0a8c6e5f3b2a1d0c9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e';
const END_SESSION_URL =
  'http://localhost:4000/session/end?id_token_hint=eyJhbGciOiJSUzI1NiJ9.e30.c2ln&post_logout_redirect_uri=http%3A%2F%2Flocalhost%3A3000%2F';

/**
 * Whole examples for the operations whose DTOs do not carry an example on every required field,
 * keyed by operationId: `request` is the body, `responses` one per status. The rest are assembled
 * from the schemas (withExamples); all are checked against their schema by the contract test.
 */
const OPERATION_EXAMPLES: Readonly<Record<string, { request?: unknown; responses?: Readonly<Record<string, unknown>> }>> = {
  startAuthorization: {
    request: { intent: 'register', email: 'alice@example.org', client: 'web', returnTo: 'http://localhost:3000/welcome' },
    responses: {
      '200': {
        authorizationUrl:
          'http://localhost:4000/auth?client_id=mydex-bff&response_type=code&scope=openid%20mydexid&redirect_uri=http%3A%2F%2Flocalhost%3A3000%2Fv1%2Fauth%2Foidc%2Fcallback&state=Vb1x5tqk0o2HFJ8Wm3aZ&nonce=c4Pq9LrS2vTnYx7K&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256&action=register',
        transactionId: '5b1f0c3a-8e2d-4f6a-9b7c-1d2e3f4a5b6c',
      },
    },
  },
  receiveBackchannelLogout: {
    request: { logout_token: 'eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJpc3MiOiJodHRwOi8vbG9jYWxob3N0OjQwMDAifQ.c2lnbmF0dXJl' },
  },
  exchangeSession: {
    request: { code: 'Hx3qM9vT2kPz8LwR5yNc1bFd', exchangeSecret: 'q7Zk2Lm9Xw4Tv8Rn3Jp6Bc1D' },
    responses: {
      '200': {
        sessionToken: 'sess_4fK9mQ2xV7tL1zR8wN3pB6cY5hJ0dG',
        expiresAt: '2025-01-31T23:59:59.000Z',
        member: { sub: SUB, mydexid: 'alice1' },
      },
    },
  },
  getSession: { responses: { '200': { member: { sub: SUB, mydexid: 'alice1' }, expiresAt: '2025-01-31T23:59:59.000Z', connected: true } } },
  logout: { request: { postLogoutRedirectUri: 'http://localhost:3000/' }, responses: { '200': { endSessionUrl: END_SESSION_URL } } },
  logoutAll: { request: { postLogoutRedirectUri: 'http://localhost:3000/' }, responses: { '200': { endSessionUrl: END_SESSION_URL } } },
};

type Schema = Record<string, unknown>;
type MediaType = { schema?: Schema; example?: unknown; examples?: unknown };

/** Fixed values for string formats that carry no example of their own. */
const FORMAT_EXAMPLES: Readonly<Record<string, string>> = {
  'date-time': '2025-01-31T12:00:00.000Z',
  uuid: '0f8fad5b-d9cb-469f-a165-70867728950e',
  uri: `${EXAMPLE_PUBLIC_BASE_URL}/`,
};

/**
 * Every request body and response that has content gets a media-type `example`, unless it has one:
 * problem+json answers an example problem with the first code its description names for that status
 * (else the status's generic code); other bodies are assembled from their schema's examples (each
 * property's `example`, else its enum's first value, default, format or boolean). A required string
 * with none of these stays missing, and test/openapi-contract.e2e-spec.ts, which checks every example
 * against its schema, fails on it: give the DTO property an `example`.
 */
function withExamples(document: OpenAPIObject): OpenAPIObject {
  const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
  for (const item of Object.values(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch'] as const) {
      const operation = item[method];
      if (!operation) continue;
      const given = OPERATION_EXAMPLES[operation.operationId ?? ''] ?? {};
      const body = operation.requestBody as { content?: Record<string, MediaType> } | undefined;
      if (body?.content) body.content = withExample(body.content, (media) => given.request ?? schemaExample(media.schema, schemas));
      for (const [status, response] of Object.entries(operation.responses ?? {})) {
        const answer = response as { content?: Record<string, MediaType>; description?: string };
        if (!answer.content) continue;
        answer.content = withExample(answer.content, (media, type) =>
          type === 'application/problem+json'
            ? problemExample(status, answer.description ?? '')
            : (given.responses?.[status] ?? schemaExample(media.schema, schemas)),
        );
      }
    }
  }
  return document;
}

/** A copy of the content map with an example in each media type (decorators share content objects such as PROBLEM). */
function withExample(content: Record<string, MediaType>, make: (media: MediaType, type: string) => unknown): Record<string, MediaType> {
  return Object.fromEntries(
    Object.entries(content).map(([type, media]) => {
      if (media.example !== undefined || media.examples !== undefined) return [type, media];
      const example = make(media, type);
      return [type, example === undefined ? { ...media } : { ...media, example }];
    }),
  );
}

/** The example problem for a response: `4XX` shows `method_not_allowed`. */
function problemExample(status: string, description: string): unknown {
  const numeric = status === '4XX' ? 405 : Number(status);
  const named = [...description.matchAll(/`([a-z_]+)`/g)].map((match) => match[1] ?? '').filter(isErrorCode);
  const code: ErrorCode =
    named.find((candidate) => ERROR_CODES[candidate].status === numeric) ?? named[0] ?? STATUS_CODES[numeric] ?? 'internal_error';
  return exampleProblem(code, numeric);
}

function schemaExample(schema: Schema | undefined, schemas: Record<string, Schema>, depth = 0): unknown {
  if (schema === undefined || depth > 12) return undefined;
  const ref = schema.$ref;
  if (typeof ref === 'string') return schemaExample(schemas[ref.replace('#/components/schemas/', '')], schemas, depth + 1);
  if (schema.example !== undefined) return schema.example;
  if (Array.isArray(schema.allOf)) {
    const parts = schema.allOf.map((part) => schemaExample(part as Schema, schemas, depth + 1));
    return parts.every((part) => typeof part === 'object' && part !== null) ? Object.assign({}, ...parts) : parts[0];
  }
  for (const key of ['oneOf', 'anyOf'] as const) {
    const first = (schema[key] as Schema[] | undefined)?.[0];
    if (first) return schemaExample(first, schemas, depth + 1);
  }
  if (Array.isArray(schema.enum)) return schema.enum[0];
  if (schema.default !== undefined) return schema.default;
  if (schema.type === 'object' || schema.properties !== undefined) {
    const out: Record<string, unknown> = {};
    for (const [name, property] of Object.entries((schema.properties ?? {}) as Record<string, Schema>)) {
      const value = schemaExample(property, schemas, depth + 1);
      if (value !== undefined) out[name] = value;
    }
    return out;
  }
  if (schema.type === 'array') {
    const item = schemaExample(schema.items as Schema | undefined, schemas, depth + 1);
    return item === undefined ? [] : [item];
  }
  if (schema.type === 'boolean') return true;
  if (schema.type === 'string' && typeof schema.format === 'string') return FORMAT_EXAMPLES[schema.format];
  return undefined;
}

/** Deterministic YAML: keys sorted at every level, so the checked-in file diffs cleanly. */
export function toSortedYaml(document: OpenAPIObject): string {
  return stringify(sortKeys(document), { lineWidth: 0, aliasDuplicateObjects: false });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value as Record<string, unknown>)
      .sort()
      .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
  );
}

/**
 * Serves the generated contract at /openapi.yaml and /openapi.json and the Swagger UI at /docs, when
 * enabled (apiDocsEnabled: API_DOCS, else everywhere but production). Off, the paths are unknown
 * routes (404 problem+json). Answers whether they were mounted.
 */
export function mountOpenApi(app: NestFastifyApplication): boolean {
  if (!apiDocsEnabled(validateEnvironment(process.env))) return false;
  let yaml: string | undefined;
  let document: OpenAPIObject | undefined;
  const get = () => (document ??= buildOpenApiDocument(app));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/openapi.yaml', async (_request, reply) =>
    reply.type('application/yaml; charset=utf-8').send((yaml ??= toSortedYaml(get()))),
  );
  SwaggerModule.setup('docs', app, () => get(), {
    jsonDocumentUrl: 'openapi.json',
    yamlDocumentUrl: 'docs/openapi.yaml',
    ui: true,
    raw: ['json'],
  });
  return true;
}
