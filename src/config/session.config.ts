import { registerAs } from '@nestjs/config';
import { validateEnvironment } from './environment.js';

/**
 * Member sessions and the browser cookies. Cookies are `Secure` and `__Host-` prefixed unless the BFF
 * runs on plain-http localhost (development): browsers refuse `__Host-` cookies without `Secure`, and
 * refuse `Secure` cookies from plain-http sites, so there the names drop the prefix.
 */
export const sessionConfig = registerAs('session', () => {
  const env = validateEnvironment(process.env);
  const base = new URL(env.PUBLIC_BASE_URL);
  const plainHttpLocal = base.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(base.hostname);
  const prefix = plainHttpLocal ? '' : '__Host-';
  return {
    ttlSeconds: env.SESSION_TTL_SECONDS,
    idleSeconds: env.SESSION_IDLE_SECONDS,
    /** false: the web session cookie has no Max-Age/Expires and ends with the browser session. */
    persistentCookie: env.SESSION_PERSISTENT === 'on',
    secureCookies: !plainHttpLocal,
    sessionCookie: `${prefix}bff_session`,
    /** Binds an OIDC transaction to the browser that started it (login CSRF). */
    transactionCookie: `${prefix}bff_oidc`,
  };
});
