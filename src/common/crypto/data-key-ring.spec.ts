import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DataKeyError, DataKeyRing, keyIdOf, loadDataKeyRing } from './data-key-ring.js';

const key = () => randomBytes(32);

describe('DataKeyRing (AES-256-GCM with key ids)', () => {
  it('round-trips a secret and never stores it in the clear', () => {
    const ring = new DataKeyRing(key());
    const sealed = ring.seal('member-key-abc123', '587-45678');
    expect(sealed.keyId).toBe(ring.currentKeyId);
    expect(Buffer.from(sealed.iv, 'base64')).toHaveLength(12);
    expect(Buffer.from(sealed.tag, 'base64')).toHaveLength(16);
    expect(JSON.stringify(sealed)).not.toContain('member-key-abc123');
    expect(ring.open(sealed, '587-45678')).toBe('member-key-abc123');
  });

  it('uses a fresh IV for every encryption', () => {
    const ring = new DataKeyRing(key());
    const a = ring.seal('same', 'ctx');
    const b = ring.seal('same', 'ctx');
    expect(a.iv).not.toBe(b.iv);
    expect(a.ciphertext).not.toBe(b.ciphertext);
  });

  it('refuses a ciphertext moved to another row (the context is authenticated)', () => {
    const ring = new DataKeyRing(key());
    const sealed = ring.seal('secret', '587-45678');
    expect(() => ring.open(sealed, '588-45678')).toThrow(DataKeyError);
  });

  it('refuses tampered ciphertext, tag or IV', () => {
    const ring = new DataKeyRing(key());
    const sealed = ring.seal('secret-value', 'ctx');
    const flip = (b64: string) => {
      const bytes = Buffer.from(b64, 'base64');
      bytes[0] ^= 1;
      return bytes.toString('base64');
    };
    expect(() => ring.open({ ...sealed, ciphertext: flip(sealed.ciphertext) }, 'ctx')).toThrow(DataKeyError);
    expect(() => ring.open({ ...sealed, tag: flip(sealed.tag) }, 'ctx')).toThrow(DataKeyError);
    expect(() => ring.open({ ...sealed, iv: flip(sealed.iv) }, 'ctx')).toThrow(DataKeyError);
    expect(() => ring.open({ ...sealed, tag: '' }, 'ctx')).toThrow(DataKeyError);
  });

  it('decrypts with an old key and re-encrypts under the current one (rotation)', () => {
    const oldKey = key();
    const newKey = key();
    const sealedUnderOld = new DataKeyRing(oldKey).seal('secret', 'ctx');
    const ring = new DataKeyRing(newKey, [oldKey]);
    expect(ring.open(sealedUnderOld, 'ctx')).toBe('secret');
    const resealed = ring.reseal(sealedUnderOld, 'ctx');
    expect(resealed.keyId).toBe(keyIdOf(newKey));
    expect(new DataKeyRing(newKey).open(resealed, 'ctx')).toBe('secret');
  });

  it('names a missing key id instead of failing obscurely', () => {
    const sealed = new DataKeyRing(key()).seal('secret', 'ctx');
    expect(() => new DataKeyRing(key()).open(sealed, 'ctx')).toThrow(/No data encryption key with id/);
  });

  it('with a KeyBinding, opens only with the same secret and label (the ring alone is not enough)', () => {
    const ring = new DataKeyRing(key());
    const binding = { secret: Buffer.from('idempotency-key-1'), label: 'scope response' };
    const sealed = ring.seal('answer', 'ctx', binding);
    expect(ring.open(sealed, 'ctx', binding)).toBe('answer');
    expect(() => ring.open(sealed, 'ctx')).toThrow(DataKeyError);
    expect(() => ring.open(sealed, 'ctx', { ...binding, secret: Buffer.from('idempotency-key-2') })).toThrow(DataKeyError);
    expect(() => ring.open(sealed, 'ctx', { ...binding, label: 'scope request' })).toThrow(DataKeyError);
  });

  it('macs: one keyed hash per key of the ring, the current key first, stable across rings holding that key', () => {
    const oldKey = key();
    const newKey = key();
    const binding = { secret: Buffer.from('k'), label: 'scope request' };
    const before = new DataKeyRing(oldKey).macs('{"a":1}', binding);
    const after = new DataKeyRing(newKey, [oldKey]).macs('{"a":1}', binding);
    expect(after.map((m) => m.keyId)).toEqual([keyIdOf(newKey), keyIdOf(oldKey)]);
    expect(after[1]).toEqual(before[0]);
    expect(after[0]!.mac).not.toBe(before[0]!.mac);
    expect(after[0]!.mac).toMatch(/^[0-9a-f]{64}$/);
    expect(new DataKeyRing(newKey, [oldKey]).macs('{"a":2}', binding)[1]!.mac).not.toBe(before[0]!.mac);
  });

  it('refuses keys that are not 32 bytes', () => {
    expect(() => new DataKeyRing(randomBytes(16))).toThrow(DataKeyError);
    expect(() => loadDataKeyRing({ key: randomBytes(31).toString('base64'), keyFile: 'unused', production: false })).toThrow(/32 bytes/);
  });
});

describe('loadDataKeyRing', () => {
  const dirs: string[] = [];
  const tempFile = () => {
    const dir = mkdtempSync(join(tmpdir(), 'bff-key-'));
    dirs.push(dir);
    return join(dir, 'nested', 'data-encryption.key');
  };
  afterEach(() => {
    for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it('uses DATA_ENCRYPTION_KEY and the old keys when given', () => {
    const current = key();
    const old = key();
    const { ring, generatedFile } = loadDataKeyRing({
      key: current.toString('base64'),
      oldKeys: [old.toString('base64')],
      keyFile: tempFile(),
      production: true,
    });
    expect(generatedFile).toBeUndefined();
    expect(ring.currentKeyId).toBe(keyIdOf(current));
    expect(ring.keyIds).toEqual([keyIdOf(current), keyIdOf(old)]);
  });

  it('generates a development key file with mode 0600 once, then reuses it', () => {
    const file = tempFile();
    const first = loadDataKeyRing({ keyFile: file, production: false });
    expect(first.generatedFile).toEqual({ path: file, created: true });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(Buffer.from(readFileSync(file, 'utf8').trim(), 'base64')).toHaveLength(32);
    const second = loadDataKeyRing({ keyFile: file, production: false });
    expect(second.generatedFile).toEqual({ path: file, created: false });
    expect(second.ring.currentKeyId).toBe(first.ring.currentKeyId);
  });

  it('never generates a key in production', () => {
    const file = tempFile();
    expect(() => loadDataKeyRing({ keyFile: file, production: true })).toThrow(/required in production/);
    expect(() => statSync(file)).toThrow();
  });
});
