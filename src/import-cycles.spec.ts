import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const SRC = dirname(fileURLToPath(import.meta.url));

/** Every non-spec TypeScript file under src/. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sources(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/**
 * The files a module loads at run time: relative `import … from` and `export … from` that are not
 * type-only (`import type` is erased, so it cannot make a cycle at load time).
 */
function runtimeImports(file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(/^(?:import|export)\s+(?!type\s)[^;]*?from\s+'(\.[^']+)'/gms)) {
    found.push(resolve(dirname(file), match[1]!.replace(/\.js$/, '.ts')));
  }
  return found;
}

/** Each cycle of the graph once, as the files in order (Tarjan would do; a DFS with a path is enough here). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const done = new Set<string>();
  const onPath: string[] = [];
  const visit = (node: string): void => {
    const at = onPath.indexOf(node);
    if (at >= 0) {
      found.push(onPath.slice(at));
      return;
    }
    if (done.has(node)) return;
    onPath.push(node);
    for (const next of graph.get(node) ?? []) visit(next);
    onPath.pop();
    done.add(node);
  };
  for (const node of graph.keys()) visit(node);
  return found;
}

describe('src/ import graph', () => {
  it('has no cycle of run-time imports (a cycle makes a class undefined at decoration time, depending on which file loads first)', () => {
    const graph = new Map(sources(SRC).map((file) => [file, runtimeImports(file, readFileSync(file, 'utf8'))]));
    const named = cycles(graph).map((cycle) => cycle.map((file) => relative(SRC, file)).join(' → '));
    expect(named).toEqual([]);
  });

  it('sees a cycle when there is one (the check can fail)', () => {
    const a = resolve(SRC, 'a.ts');
    const b = resolve(SRC, 'b.ts');
    const graph = new Map([
      [a, runtimeImports(a, "import { B } from './b.js';\nimport type { C } from './c.js';")],
      [b, runtimeImports(b, "export { A } from './a.js';")],
    ]);
    expect(cycles(graph).map((cycle) => cycle.map((file) => relative(SRC, file)))).toEqual([['a.ts', 'b.ts']]);
  });
});
