import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const generator = join(import.meta.dirname, '../dist/scripts/openapi.js');
const run = (...args: string[]) => spawnSync(process.execPath, [generator, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('openapi.yaml is generated from the code', () => {
  it('has a built generator (npm test builds first)', () => {
    expect(existsSync(generator), 'run `npm test`, which runs `nest build` before the suites').toBe(true);
  });

  it('matches what the built app generates (run `npm run openapi` after changing a route or DTO)', () => {
    const result = run('--check', 'openapi.yaml');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('fails the check when the checked-in file differs from the code', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'openapi-')), 'openapi.yaml');
    writeFileSync(copy, readFileSync('openapi.yaml', 'utf8').replace('/health/ready', '/health/renamed'));
    const result = run('--check', copy);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('out of date');
  });
});
