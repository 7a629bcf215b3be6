import { describe, expect, it } from 'vitest';
import { readyMessage } from './ready-message.js';

describe('the message main.ts prints once the BFF listens', () => {
  it('npm start (development): the addresses to open and how to stop, in one short block', () => {
    const text = readyMessage({
      publicBaseUrl: 'http://localhost:3000/',
      port: 3000,
      production: false,
      demo: true,
      apiDocs: true,
      emulatorUrl: 'http://localhost:4000',
    });
    expect(text).toBe(
      [
        '',
        'Mydex BFF ready on http://localhost:3000 (port 3000)',
        '  Demo:           http://localhost:3000/',
        '  API docs:       http://localhost:3000/docs',
        '  Mydex emulator: http://localhost:4000',
        'Press Ctrl+C to stop.',
        '',
      ].join('\n'),
    );
  });

  it('leaves out what does not run: no emulator against real Mydex, no demo or docs when turned off', () => {
    const text = readyMessage({ publicBaseUrl: 'http://localhost:3000', port: 3000, production: false, demo: false, apiDocs: true });
    expect(text).toContain('  API docs: http://localhost:3000/docs\n');
    expect(text).not.toContain('Demo');
    expect(text).not.toContain('emulator');
    expect(text).toContain('Press Ctrl+C to stop.');
  });

  it('production: the one line it always was', () => {
    const text = readyMessage({
      publicBaseUrl: 'https://bff.example.com',
      port: 3000,
      production: true,
      demo: false,
      apiDocs: false,
      metricsUrl: 'http://127.0.0.1:9464/metrics',
    });
    expect(text).toBe('Mydex BFF listening on https://bff.example.com (port 3000); metrics at http://127.0.0.1:9464/metrics\n');
  });
});
