import { registerAs } from '@nestjs/config';
import { splitList, validateEnvironment } from './environment.js';

export const securityConfig = registerAs('security', () => {
  const env = validateEnvironment(process.env);
  return {
    rateLimits: env.RATE_LIMITS === 'on',
    redisUrl: env.REDIS_URL,
    trustedProxies: splitList(env.TRUSTED_PROXIES),
    /** base64 of 32 bytes; in development a key is generated under data/ when unset. */
    dataEncryptionKey: env.DATA_ENCRYPTION_KEY,
    /** Earlier keys, accepted for decryption only (key rotation). */
    dataEncryptionKeysOld: splitList(env.DATA_ENCRYPTION_KEYS_OLD),
    /** Development only: where the generated key lives when DATA_ENCRYPTION_KEY is unset. */
    dataEncryptionKeyFile: env.DATA_ENCRYPTION_KEY_FILE,
    production: env.NODE_ENV === 'production',
  };
});
