import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { stringify } from 'yaml';
import { PROBLEM_TYPE_BASE } from '../common/problem/error-codes.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { validateEnvironment } from '../config/environment.js';
import { apiDocsEnabled } from '../config/exposure.config.js';

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
    .addServer('http://localhost:3000', 'Local development')
    .build();
  const document = SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}`,
  });
  return withProblemResponses(document);
}

const PROBLEM_SCHEMA = {
  type: 'object',
  description: 'RFC 9457 problem details. Switch on `code`; it never changes meaning.',
  required: ['type', 'title', 'status', 'detail', 'code', 'requestId'],
  properties: {
    type: { type: 'string', format: 'uri', example: `${PROBLEM_TYPE_BASE}validation_failed` },
    title: { type: 'string', example: 'The request has invalid fields' },
    status: { type: 'integer', example: 422 },
    detail: { type: 'string', example: '2 field error(s); see errors.' },
    code: { type: 'string', description: 'Stable snake_case error code', example: 'validation_failed' },
    requestId: { type: 'string', description: 'Also in the X-Request-Id response header', example: '3f0c6a0e-9d7e-4c8a-9a55-2f1f7f0b8f0e' },
    errors: {
      type: 'array',
      description: 'Field errors, in rule order per field',
      items: {
        type: 'object',
        required: ['field', 'code', 'message'],
        properties: {
          field: { type: 'string', example: 'mydexid' },
          code: { type: 'string', example: 'mydexid_digits_only' },
          message: { type: 'string', example: 'A MydexID cannot be made up only of digits.' },
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
  SwaggerModule.setup('docs', app, () => get(), { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'docs/openapi.yaml', ui: true, raw: ['json'] });
  return true;
}
