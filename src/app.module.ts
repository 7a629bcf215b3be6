import { type DynamicModule, Module, type ModuleMetadata } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { AuthModule } from './auth/auth.module.js';
import { CommonModule } from './common/common.module.js';
import { ErrorsModule } from './errors/errors.module.js';
import { EventsModule } from './events/events.module.js';
import { ConnectionModule } from './connection/connection.module.js';
import { LoggingModule } from './common/logging/logging.module.js';
import { appConfig } from './config/app.config.js';
import { databaseConfig } from './config/database.config.js';
import { validateEnvironment } from './config/environment.js';
import { mydexConfig } from './config/mydex.config.js';
import { securityConfig } from './config/security.config.js';
import { HealthModule } from './health/health.module.js';
import { MetricsModule } from './metrics/metrics.module.js';
import { MydexModule } from './mydex/mydex.module.js';
import { PersistenceModule } from './persistence/persistence.module.js';
import { RateLimitModule } from './rate-limit/rate-limit.module.js';
import { RegistrationChallengeModule } from './registration/challenge/registration-challenge.module.js';
import { RegistrationModule } from './registration/registration.module.js';
import { SessionModule } from './session/session.module.js';
import { ValidationModule } from './validation/validation.module.js';
import { WebhooksModule } from './webhooks/webhooks.module.js';

/**
 * The BFF. A dynamic module so the environment is read when the app is created (tests set it per
 * suite), not when this file is imported. `extra` modules are imported beside the BFF's own (tests add
 * domain event subscribers this way: test/domain-events.e2e-spec.ts).
 */
@Module({})
export class AppModule {
  static forRoot(extra: NonNullable<ModuleMetadata['imports']> = []): DynamicModule {
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({
          isGlobal: true,
          ignoreEnvFile: true,
          cache: true,
          load: [appConfig, databaseConfig, securityConfig, mydexConfig],
          validate: (raw) => ({ ...raw, ...validateEnvironment(raw) }),
        }),
        LoggingModule,
        CommonModule,
        // Domain events (src/events/): one EventEmitter2 for the app, subscribers with @OnEvent.
        EventEmitterModule.forRoot(),
        EventsModule,
        PersistenceModule,
        HealthModule,
        ErrorsModule,
        MetricsModule,
        RateLimitModule,
        RegistrationChallengeModule,
        // Feature modules:
        AuthModule,
        ConnectionModule,
        MydexModule,
        RegistrationModule,
        SessionModule,
        ValidationModule,
        WebhooksModule,
        ...extra,
      ],
    };
  }
}
