import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { demoSpaEnabled, findDemoSpaRoot } from './demo-spa.js';

describe('demoSpaEnabled', () => {
  it('serves the demo in development and test when DEMO_SPA is unset', () => {
    expect(demoSpaEnabled({ NODE_ENV: 'development' })).toBe(true);
    expect(demoSpaEnabled({ NODE_ENV: 'test' })).toBe(true);
  });

  it('does not serve the demo in production unless DEMO_SPA=on', () => {
    expect(demoSpaEnabled({ NODE_ENV: 'production' })).toBe(false);
    expect(demoSpaEnabled({ NODE_ENV: 'production', DEMO_SPA: 'on' })).toBe(true);
  });

  it('lets DEMO_SPA=off switch the demo off in development', () => {
    expect(demoSpaEnabled({ NODE_ENV: 'development', DEMO_SPA: 'off' })).toBe(false);
  });
});

describe('findDemoSpaRoot', () => {
  it('finds examples/spa from a folder several levels below the project root', () => {
    const root = mkdtempSync(join(tmpdir(), 'spa-root-'));
    mkdirSync(join(root, 'examples', 'spa'), { recursive: true });
    writeFileSync(join(root, 'examples', 'spa', 'index.html'), '<!doctype html>');
    const deep = join(root, 'dist', 'src', 'demo');
    mkdirSync(deep, { recursive: true });
    expect(findDemoSpaRoot(deep)).toBe(join(root, 'examples', 'spa'));
  });

  it('answers undefined when no folder above holds examples/spa/index.html', () => {
    expect(findDemoSpaRoot(mkdtempSync(join(tmpdir(), 'no-spa-')))).toBeUndefined();
  });
});
