import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

// Real-browser journeys (test/browser, docs/demo.md): Debian's Chromium driven by playwright-core
// against the BFF and the in-process Mydex emulator. One file at a time: each journey runs a browser,
// the BFF and the emulator, and the machines have two cores.
export default defineConfig({
  plugins: [swc.vite({ module: { type: 'es6' } })],
  test: {
    include: ['test/browser/**/*.browser-spec.ts'],
    environment: 'node',
    setupFiles: ['reflect-metadata'],
    testTimeout: 90_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
});
