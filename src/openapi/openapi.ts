import type { INestApplication } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { stringify } from 'yaml';

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
  return SwaggerModule.createDocument(app, config, { operationIdFactory: (controller, method) => `${controller.replace(/Controller$/, '')}_${method}` });
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

/** Serves the generated contract at /openapi.yaml and /openapi.json and the Swagger UI at /docs. */
export function mountOpenApi(app: NestFastifyApplication): void {
  let yaml: string | undefined;
  let document: OpenAPIObject | undefined;
  const get = () => (document ??= buildOpenApiDocument(app));
  const fastify = app.getHttpAdapter().getInstance();
  fastify.get('/openapi.yaml', async (_request, reply) =>
    reply.type('application/yaml; charset=utf-8').send((yaml ??= toSortedYaml(get()))),
  );
  SwaggerModule.setup('docs', app, () => get(), { jsonDocumentUrl: 'openapi.json', yamlDocumentUrl: 'docs/openapi.yaml', ui: true, raw: ['json'] });
}
