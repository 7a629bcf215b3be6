import { Logger } from '@nestjs/common';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { DataEncryption } from './data-encryption.js';

describe('DataEncryption in development without DATA_ENCRYPTION_KEY', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bff-dev-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('generates the key file once (mode 0600), warns once, and every instance uses the same key', () => {
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    const keyFile = join(dir, 'data', 'data-encryption.key');
    const settings = {
      dataEncryptionKey: undefined,
      dataEncryptionKeysOld: [],
      dataEncryptionKeyFile: keyFile,
      production: false,
    } as never;
    const first = new DataEncryption(settings);
    const second = new DataEncryption(settings);
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(second.currentKeyId).toBe(first.currentKeyId);
    expect(second.open(first.seal('secret', 'ctx'), 'ctx')).toBe('secret');
    const warnings = warn.mock.calls
      .map(([message]) => String(message))
      .filter((message) => message.includes('DATA_ENCRYPTION_KEY is not set'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(keyFile);
    warn.mockRestore();
  });
});
