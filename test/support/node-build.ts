import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { dirname, join, relative } from 'node:path';
import { transformFile } from '@swc/core';

/**
 * A private JavaScript build of src/ for suites that must run the BFF in a child process (kill -9).
 * It is compiled with SWC exactly as vitest compiles it (legacy decorators with metadata), into a
 * folder under node_modules/.cache so that package imports resolve, never into dist/ (which the
 * lead's `nest build` owns). Takes well under a second.
 */

const ROOT = join(import.meta.dirname, '..', '..');

export interface NodeBuild {
  /** Absolute path of the compiled src/app.factory.js. */
  appFactory: string;
  dir: string;
  remove(): void;
}

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** `roots`: the folders to compile (default src/; the doctor's CLI test adds emulator/ and scripts/). */
export async function buildForNode(roots: string[] = ['src']): Promise<NodeBuild> {
  const dir = join(ROOT, 'node_modules', '.cache', `bff-test-build-${process.pid}-${randomBytes(3).toString('hex')}`);
  for (const file of roots.flatMap((root) => sources(join(ROOT, root)))) {
    const { code } = await transformFile(file, {
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true },
        keepClassNames: true,
        target: 'es2022',
      },
      module: { type: 'es6' },
      sourceMaps: false,
    });
    const out = join(dir, relative(ROOT, file)).replace(/\.ts$/, '.js');
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, code);
  }
  // node_modules/ ends Node's search for a package scope, so the build declares its own.
  writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
  return { appFactory: join(dir, 'src', 'app.factory.js'), dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}
