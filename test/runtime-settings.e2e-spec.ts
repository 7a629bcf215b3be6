import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HEAP_NODE_OPTIONS } from '../src/config/runtime.js';

const root = join(import.meta.dirname, '..');
const read = (file: string) => readFileSync(join(root, file), 'utf8');

/**
 * The heap settings the memory target was measured with (src/config/runtime.ts) are the ones every
 * way of running the BFF uses: the Docker image, `npm start`, and the benchmark (which imports them).
 */
describe('runtime heap settings', () => {
  it('are set in the Docker image that runs the BFF', () => {
    const runtimeStage = read('Dockerfile').split(/^FROM .* AS runtime$/m)[1];
    expect(runtimeStage).toBeDefined();
    expect(runtimeStage).toContain(`NODE_OPTIONS="${HEAP_NODE_OPTIONS}"`);
  });

  it('are passed by npm start', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(scripts.start).toBe(`node ${HEAP_NODE_OPTIONS} scripts/start.js`);
  });

  it('give V8 the old-generation limit they name (so the growth policy for small heaps applies)', () => {
    const limit = Number(
      execFileSync(process.execPath, [...HEAP_NODE_OPTIONS.split(' '), '-p', 'require("node:v8").getHeapStatistics().heap_size_limit'], {
        encoding: 'utf8',
      }),
    );
    const oldSpace = Number(/--max-old-space-size=(\d+)/.exec(HEAP_NODE_OPTIONS)?.[1]);
    expect(oldSpace).toBeGreaterThan(0);
    // The limit is the old generation plus the young generation's reserve.
    expect(limit / 2 ** 20).toBeGreaterThanOrEqual(oldSpace);
    expect(limit / 2 ** 20).toBeLessThan(oldSpace + 64);
  });
});
