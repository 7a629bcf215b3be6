import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { securityConfig } from '../../config/security.config.js';
import { loadDataKeyRing, type DataKeyRing, type KeyBinding, type SealedSecret } from './data-key-ring.js';

/** Generated-key warnings already printed in this process: one per key file, however many apps start. */
const warned = new Set<string>();

/**
 * Encryption of secrets at rest (AES-256-GCM, a key id per secret) for the rest of the BFF. The key
 * ring is loaded once at start-up, so a bad key stops the BFF before it serves anything.
 */
@Injectable()
export class DataEncryption {
  private readonly logger = new Logger('DataEncryption');
  private readonly ring: DataKeyRing;

  constructor(@Inject(securityConfig.KEY) security: ConfigType<typeof securityConfig>) {
    const loaded = loadDataKeyRing({
      key: security.dataEncryptionKey,
      oldKeys: security.dataEncryptionKeysOld,
      keyFile: security.dataEncryptionKeyFile,
      production: security.production,
    });
    this.ring = loaded.ring;
    if (loaded.generatedFile && !warned.has(loaded.generatedFile.path)) {
      warned.add(loaded.generatedFile.path);
      this.logger.warn(
        `DATA_ENCRYPTION_KEY is not set: using the development key in ${loaded.generatedFile.path}` +
          `${loaded.generatedFile.created ? ' (just generated)' : ''}. Set DATA_ENCRYPTION_KEY in production.`,
      );
    }
  }

  get currentKeyId(): string {
    return this.ring.currentKeyId;
  }

  /** Every key id the ring decrypts with, the current one first. */
  get keyIds(): string[] {
    return this.ring.keyIds;
  }

  seal(plaintext: string, context: string, binding?: KeyBinding): SealedSecret {
    return this.ring.seal(plaintext, context, binding);
  }

  open(sealed: SealedSecret, context: string, binding?: KeyBinding): string {
    return this.ring.open(sealed, context, binding);
  }

  /** See DataKeyRing.macs. */
  macs(data: string, binding: KeyBinding): { keyId: string; mac: string }[] {
    return this.ring.macs(data, binding);
  }
}
