import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { TypeOrmModule } from '@nestjs/typeorm';
import { randomBytes } from 'node:crypto';
import { appConfig } from '../../src/config/app.config.js';
import { databaseConfig } from '../../src/config/database.config.js';
import { mydexConfig } from '../../src/config/mydex.config.js';
import { securityConfig } from '../../src/config/security.config.js';
import { EventsModule } from '../../src/events/events.module.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import { dataSourceOptions } from '../../src/persistence/data-source-options.js';
import { WebhooksModule } from '../../src/webhooks/webhooks.module.js';

/**
 * The environment the module specs compile with: test mode, quiet, an in-memory database and a
 * throw-away data key (so DataEncryption never writes a development key file under data/).
 * The config namespaces (`registerAs`) read process.env when Nest instantiates them, so these are set
 * in process.env; each spec file runs in its own process (vitest, `pool: 'forks'`) or its own
 * process object (Jest), so nothing leaks into another file.
 */
export const MODULE_TEST_ENV: Readonly<Record<string, string>> = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'silent',
  RATE_LIMITS: 'off',
  DATABASE_URL: 'sqlite::memory:',
  DATA_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
};

/**
 * What AppModule gives every feature module, for `Test.createTestingModule({ imports: [testingRoot(), FeatureModule] })`:
 * the root configuration namespaces (global, as `ConfigModule.forRoot` in AppModule), an in-memory
 * SQLite database migrated by the production migrations, the global MetricsModule and WebhooksModule
 * (ConnectionsService writes its outbox rows), and the domain events' EventEmitter2 and
 * DomainEventPublisher. No HTTP server: a spec calls controllers and services directly. `@OnEvent`
 * subscribers are not attached (that happens at application bootstrap, which a compiled testing
 * module does not run): listen on EventEmitter2 to see what a service publishes. `env` adds or replaces variables of
 * MODULE_TEST_ENV; to change one namespace in one spec, prefer
 * `.overrideProvider(someConfig.KEY).useValue({ ...someConfig(), field: value })`.
 */
export function testingRoot(env: Record<string, string> = {}): DynamicModule {
  Object.assign(process.env, MODULE_TEST_ENV, env);
  return {
    module: TestingRootModule,
    imports: [
      ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: [appConfig, databaseConfig, securityConfig, mydexConfig] }),
      TypeOrmModule.forRoot({ ...dataSourceOptions('sqlite::memory:'), migrationsRun: true, autoLoadEntities: true }),
      MetricsModule,
      EventEmitterModule.forRoot(),
      EventsModule,
      // Global in AppModule too: a feature enqueues webhooks in its own transaction (off: WEBHOOK_URL unset).
      WebhooksModule,
    ],
  };
}

@Module({})
class TestingRootModule {}
