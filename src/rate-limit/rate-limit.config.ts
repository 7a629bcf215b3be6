import { registerAs } from '@nestjs/config';
import { validateEnvironment } from '../config/environment.js';

/** The registration budgets against account enumeration (docs/security.md, "Account enumeration through registration"). */
export const rateLimitConfig = registerAs('rateLimit', () => {
  const env = validateEnvironment(process.env);
  return {
    enabled: env.RATE_LIMITS === 'on',
    redisUrl: env.REDIS_URL,
    /** 409 `mydexid_taken`/`email_taken` answers one client IP may receive per window before its registrations get 429. */
    conflictLimit: env.REGISTRATION_CONFLICT_LIMIT,
    conflictWindowMs: env.REGISTRATION_CONFLICT_WINDOW_SECONDS * 1000,
    /** Registrations that reach Mydex (created, taken, refused) per window across every client and instance; 0 = no global budget. */
    globalLimit: env.REGISTRATION_GLOBAL_LIMIT,
    globalWindowMs: env.REGISTRATION_GLOBAL_WINDOW_SECONDS * 1000,
  };
});
