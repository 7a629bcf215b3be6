import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { ThrottlerModule, type ThrottlerOptions } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { securityConfig } from '../config/security.config.js';
import { RateLimitGuard } from './rate-limit.guard.js';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

import { RATE_LIMIT_GROUPS } from './rate-limit.groups.js';

export { RATE_LIMIT_GROUPS };

const pathOf = (context: Parameters<NonNullable<ThrottlerOptions['skipIf']>>[0]) =>
  (context.switchToHttp().getRequest<FastifyRequest>().url ?? '').split('?')[0] ?? '';

@Module({
  imports: [
    ThrottlerModule.forRootAsync({
      inject: [securityConfig.KEY],
      useFactory: (security: ConfigType<typeof securityConfig>) => ({
        throttlers: RATE_LIMIT_GROUPS.map((group) => ({
          name: group.name,
          ttl: 60_000,
          limit: group.limit,
          skipIf: (context) => !security.rateLimits || !pathOf(context).startsWith(group.prefix),
        })),
        storage: security.redisUrl ? new RedisThrottlerStorage(security.redisUrl) : undefined,
        setHeaders: true,
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: RateLimitGuard }],
})
export class RateLimitModule {}
