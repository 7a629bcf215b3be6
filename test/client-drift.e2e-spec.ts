import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import openapiTS, { astToString, COMMENT_HEADER } from 'openapi-typescript';
import { describe, expect, it } from 'vitest';

/**
 * The typed client (clients/typescript) is generated: `schema.d.ts` from openapi.yaml by openapi-typescript,
 * and the demo's bundle examples/spa/client.js from the client by esbuild. Both are checked in; `npm run
 * client` (also run by `npm run openapi`) regenerates them, and these tests fail when either is stale.
 */

const root = join(import.meta.dirname, '..');
const schemaFile = join(root, 'clients/typescript/src/schema.d.ts');
const bundleScript = join(root, 'clients/typescript/bundle.mjs');

/**
 * What `npm run client` writes (openapi-typescript's CLI: the comment header, then the printed AST), with
 * its one option: a property with a `default` stays optional (the BFF fills it in), as in the contract.
 */
async function generateSchema(openapiYaml: string): Promise<string> {
  return COMMENT_HEADER + astToString(await openapiTS(openapiYaml, { silent: true, defaultNonNullable: false }));
}

const checkBundle = (file: string) =>
  spawnSync(process.execPath, [bundleScript, '--check', file], { cwd: root, encoding: 'utf8', timeout: 60_000 });

describe('clients/typescript/src/schema.d.ts is generated from openapi.yaml', () => {
  it('matches what openapi-typescript generates from openapi.yaml (run `npm run client` after `npm run openapi`)', async () => {
    const fresh = await generateSchema(readFileSync(join(root, 'openapi.yaml'), 'utf8'));
    expect(
      fresh === readFileSync(schemaFile, 'utf8'),
      'clients/typescript/src/schema.d.ts is stale: run `npm run client` and commit it',
    ).toBe(true);
  });

  it('differs once openapi.yaml changes (so a stale file is caught)', async () => {
    const changed = readFileSync(join(root, 'openapi.yaml'), 'utf8').replace('/health/ready:', '/health/renamed:');
    const fresh = await generateSchema(changed);
    expect(fresh).toContain('"/health/renamed"');
    expect(fresh === readFileSync(schemaFile, 'utf8')).toBe(false);
  });
});

describe('examples/spa/client.js is the bundled client', () => {
  it('matches a fresh esbuild bundle of clients/typescript (run `npm run client` after changing the client)', () => {
    const result = checkBundle(join(root, 'examples/spa/client.js'));
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('fails the check when the checked-in bundle differs from the client', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'client-bundle-')), 'client.js');
    const bundle = readFileSync(join(root, 'examples/spa/client.js'), 'utf8');
    const edited = bundle.replace('"X-CSRF", "1"', '"X-CSRF", "0"');
    expect(edited).not.toBe(bundle);
    writeFileSync(copy, edited);
    const result = checkBundle(copy);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('out of date');
  });
});
