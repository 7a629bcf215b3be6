import { Global, Module } from '@nestjs/common';
import { ConfigModule, type ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { Redis } from 'ioredis';
import { RateLimitStores } from './counter-store.js';
import { rateLimitConfig } from './rate-limit.config.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RegistrationBudgetInterceptor, RegistrationBudgets } from './registration-budgets.js';

function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, enableOfflineQueue: false, lazyConnect: false, connectTimeout: 2000 });
  redis.on('error', () => undefined); // surfaced per request; the limits fail open (rate-limit.guard.ts)
  return redis;
}

/**
 * Rate limits: the per-route group limits (RateLimitGuard, global) and the registration budgets
 * against enumeration (RegistrationBudgetInterceptor, on `POST /v1/registrations`). Global so the
 * interceptor resolves in the registration module.
 */
@Global()
@Module({
  imports: [ConfigModule.forFeature(rateLimitConfig)],
  providers: [
    {
      provide: RateLimitStores,
      inject: [rateLimitConfig.KEY],
      useFactory: (config: ConfigType<typeof rateLimitConfig>) =>
        new RateLimitStores(config.enabled && config.redisUrl ? connect(config.redisUrl) : undefined),
    },
    RegistrationBudgets,
    RegistrationBudgetInterceptor,
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [RegistrationBudgets, RegistrationBudgetInterceptor],
})
export class RateLimitModule {}
