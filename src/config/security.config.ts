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
  };
});
