import { Module } from '@nestjs/common';
import { DataEncryption } from './data-encryption.js';

/** DataEncryption for any feature that keeps a secret at rest (the security config namespace is global). */
@Module({
  providers: [DataEncryption],
  exports: [DataEncryption],
})
export class CryptoModule {}
