import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pooledRandomBytes } from './random-pool.js';

/**
 * AES-256-GCM encryption of secrets at rest (member connection keys) under a ring of keys: one
 * current key that encrypts, and earlier keys that still decrypt while a rotation runs. Plain
 * TypeScript (no Nest), so the rotation script uses exactly what the BFF uses.
 */

/** A secret as stored: every part base64 except the key id. */
export interface SealedSecret {
  /** Which key of the ring encrypted it (a fingerprint of the key, never the key). */
  keyId: string;
  /** 12 random bytes, new for every encryption. */
  iv: string;
  /** The 16-byte GCM authentication tag. */
  tag: string;
  ciphertext: string;
}

export class DataKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DataKeyError';
  }
}

/**
 * A secret the caller holds and the database does not (e.g. an Idempotency-Key), mixed into the key:
 * the AES (or HMAC) key is then HKDF-SHA-256(ikm = `secret`, salt = the ring key, info = `label`), so a
 * value reads as noise to whoever has the ring but not the secret.
 */
export interface KeyBinding {
  secret: Uint8Array;
  label: string;
}

const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;

export class DataKeyRing {
  readonly currentKeyId: string;
  private readonly keys = new Map<string, Buffer>();

  /** `current` encrypts; `previous` keys only decrypt. Duplicates are ignored. */
  constructor(current: Buffer, previous: readonly Buffer[] = []) {
    for (const key of [current, ...previous]) {
      if (key.length !== KEY_BYTES) throw new DataKeyError(`A data encryption key must be ${KEY_BYTES} bytes.`);
      const id = keyIdOf(key);
      if (!this.keys.has(id)) this.keys.set(id, Buffer.from(key));
    }
    this.currentKeyId = keyIdOf(current);
  }

  /** Every key id the ring can decrypt, the current one first. */
  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  has(keyId: string): boolean {
    return this.keys.has(keyId);
  }

  /**
   * Encrypts under the current key. `context` is bound as additional authenticated data (e.g. the
   * connection id), so a ciphertext copied onto another row does not decrypt there.
   */
  seal(plaintext: string, context: string, binding?: KeyBinding): SealedSecret {
    const key = bound(this.keys.get(this.currentKeyId)!, binding);
    const iv = pooledRandomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      keyId: this.currentKeyId,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      ciphertext: ciphertext.toString('base64'),
    };
  }

  /** Decrypts with whichever key of the ring `sealed.keyId` names; throws DataKeyError otherwise. */
  open(sealed: SealedSecret, context: string, binding?: KeyBinding): string {
    const ringKey = this.keys.get(sealed.keyId);
    if (!ringKey)
      throw new DataKeyError(
        `No data encryption key with id ${sealed.keyId} is configured (DATA_ENCRYPTION_KEY / DATA_ENCRYPTION_KEYS_OLD).`,
      );
    const iv = Buffer.from(sealed.iv, 'base64');
    const tag = Buffer.from(sealed.tag, 'base64');
    if (iv.length !== IV_BYTES || tag.length !== TAG_BYTES) throw new DataKeyError('The stored secret is damaged (IV or tag length).');
    const key = bound(ringKey, binding);
    try {
      const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(tag);
      return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new DataKeyError('The stored secret failed authentication: wrong key, wrong row, or tampered data.');
    }
  }

  /**
   * HMAC-SHA-256 (hex) of `data` under every key of the ring bound to `binding`, the current key first:
   * a keyed hash stored under one key can still be recognised after a rotation.
   */
  macs(data: string, binding: KeyBinding): { keyId: string; mac: string }[] {
    return [...this.keys].map(([keyId, key]) => ({
      keyId,
      mac: createHmac('sha256', bound(key, binding)).update(data, 'utf8').digest('hex'),
    }));
  }

  /** Re-encrypts under the current key (rotation); a secret already under it is re-sealed too. */
  reseal(sealed: SealedSecret, context: string): SealedSecret {
    return this.seal(this.open(sealed, context), context);
  }
}

function bound(key: Buffer, binding: KeyBinding | undefined): Buffer {
  return binding ? Buffer.from(hkdfSync('sha256', binding.secret, key, binding.label, KEY_BYTES)) : key;
}

/** A stable, non-reversible id for a key: 16 hex characters of a domain-separated SHA-256. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update('mydex-bff data-encryption-key-id\0').update(key).digest('hex').slice(0, 16);
}

/** Decodes a base64 key and checks it is 32 bytes. */
export function decodeKey(base64: string, name: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== KEY_BYTES) throw new DataKeyError(`${name} must be ${KEY_BYTES} bytes, base64-encoded (openssl rand -base64 32).`);
  return key;
}

export interface KeyRingSettings {
  /** DATA_ENCRYPTION_KEY (base64), when set. */
  key?: string;
  /** DATA_ENCRYPTION_KEYS_OLD (base64 each). */
  oldKeys?: readonly string[];
  /** DATA_ENCRYPTION_KEY_FILE: where development keeps a generated key. */
  keyFile: string;
  /** Production never generates a key (environment validation already refuses to start without one). */
  production: boolean;
}

export interface LoadedKeyRing {
  ring: DataKeyRing;
  /** Set when the key came from (or was just written to) the development key file. */
  generatedFile?: { path: string; created: boolean };
}

/**
 * The key ring from configuration. With no DATA_ENCRYPTION_KEY outside production, the key is read
 * from `keyFile`, which is created (mode 0600) on first use; several processes starting at once
 * agree on one key because the file is published with an atomic, exclusive link.
 */
export function loadDataKeyRing(settings: KeyRingSettings): LoadedKeyRing {
  const previous = (settings.oldKeys ?? []).map((key, index) => decodeKey(key, `DATA_ENCRYPTION_KEYS_OLD[${index}]`));
  if (settings.key !== undefined && settings.key.trim() !== '') {
    return { ring: new DataKeyRing(decodeKey(settings.key, 'DATA_ENCRYPTION_KEY'), previous) };
  }
  if (settings.production) throw new DataKeyError('DATA_ENCRYPTION_KEY is required in production.');
  const path = resolve(settings.keyFile);
  const { key, created } = readOrCreateKeyFile(path);
  return { ring: new DataKeyRing(key, previous), generatedFile: { path, created } };
}

function readOrCreateKeyFile(path: string): { key: Buffer; created: boolean } {
  const existing = readKeyFile(path);
  if (existing) return { key: existing, created: false };
  mkdirSync(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(temporary, `${randomBytes(KEY_BYTES).toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
  chmodSync(temporary, 0o600);
  try {
    // link() fails when the file exists: whoever links first wins, everyone reads the winner's key.
    linkSync(temporary, path);
    return { key: readKeyFile(path)!, created: true };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    return { key: readKeyFile(path)!, created: false };
  } finally {
    rmSync(temporary, { force: true });
  }
}

function readKeyFile(path: string): Buffer | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  return decodeKey(text, `The key file ${path}`);
}
