/**
 * Generates openapi.yaml from the built app (so the Swagger CLI plugin's metadata is in it).
 *   node dist/scripts/openapi.js --write            writes ./openapi.yaml
 *   node dist/scripts/openapi.js --check [file]     exits 1 when the file differs from the code
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

async function main(): Promise<void> {
  const [mode = '--check', target = 'openapi.yaml'] = process.argv.slice(2);
  const dir = mkdtempSync(join(tmpdir(), 'bff-openapi-'));
  // A deterministic, side-effect-free environment: the document must not depend on the machine.
  process.env.NODE_ENV = 'test';
  process.env.LOG_LEVEL = 'silent';
  process.env.DATABASE_URL = `sqlite:${join(dir, 'openapi.sqlite')}`;
  delete process.env.MYDEX_ISSUER;
  const { createApp } = await import('../src/app.factory.js');
  const { buildOpenApiDocument, toSortedYaml } = await import('../src/openapi/openapi.js');
  const app = await createApp({ quiet: true });
  await app.init();
  const yaml = toSortedYaml(buildOpenApiDocument(app));
  await app.close();
  rmSync(dir, { recursive: true, force: true });

  if (mode === '--write') {
    writeFileSync(target, yaml);
    process.stdout.write(`wrote ${target}\n`);
    return;
  }
  let current = '';
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    // missing counts as different
  }
  if (current !== yaml) {
    process.stderr.write(`${target} is out of date with the code: run \`npm run openapi\` and commit the result.\n`);
    process.exit(1);
  }
  process.stdout.write(`${target} matches the code\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(2);
});
