import { registerAs } from '@nestjs/config';
import { splitList, validateEnvironment } from './environment.js';

export const appConfig = registerAs('app', () => {
  const env = validateEnvironment(process.env);
  const publicBaseUrl = env.PUBLIC_BASE_URL.replace(/\/+$/, '');
  return {
    nodeEnv: env.NODE_ENV,
    production: env.NODE_ENV === 'production',
    port: env.PORT,
    publicBaseUrl,
    /** Exact origins: CORS and the returnTo allowlist. */
    frontendOrigins: splitList(env.FRONTEND_ORIGINS).map((origin) => new URL(origin).origin),
    nativeRedirectUris: splitList(env.NATIVE_REDIRECT_URIS),
    logLevel: env.LOG_LEVEL,
  };
});
