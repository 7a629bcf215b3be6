import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule } from '@nestjs/throttler';
import { securityConfig } from '../config/security.config.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';
import { pathOf, RATE_LIMIT_GROUPS } from './rate-limit.groups.js';

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [securityConfig.KEY],
      useFactory: (security: ConfigType<typeof securityConfig>) => ({
        throttlers: RATE_LIMIT_GROUPS.map((group) => ({
          name: group.name,
          ttl: 60_000,
          limit: group.limit,
          // RATE_LIMITS=off and unlimited routes never get here (RateLimitGuard.shouldSkip).
          skipIf: (context) => !pathOf(context.switchToHttp().getRequest()).startsWith(group.prefix),
        })),
        storage: security.redisUrl ? new RedisThrottlerStorage(security.redisUrl) : undefined,
        setHeaders: true,
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class RateLimitModule {}
