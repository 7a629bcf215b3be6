import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CryptoModule } from '../common/crypto/crypto.module.js';
import { ReturnToModule } from '../common/return-to/return-to.module.js';
import { oidcConfig } from '../config/oidc.config.js';
import { registrationConfig } from '../config/registration.config.js';
import { MydexModule } from '../mydex/mydex.module.js';
import { SessionModule } from '../session/session.module.js';
import { IdempotencyKey } from './idempotency/idempotency-key.entity.js';
import { IdempotencyStore } from './idempotency/idempotency.store.js';
import { Registration } from './registration.entity.js';
import { RegistrationsController } from './registrations.controller.js';
import { RegistrationsService } from './registrations.service.js';
import { OwnFormRegistrationStrategy } from './strategies/own-form/own-form-registration.strategy.js';
import { IdTokenVerifier } from './strategies/oidc-delegate/id-token.verifier.js';
import { OidcDelegateController } from './strategies/oidc-delegate/oidc-delegate.controller.js';
import { OidcDelegateService } from './strategies/oidc-delegate/oidc-delegate.service.js';
import { OidcLogoutController } from './strategies/oidc-delegate/oidc-logout.controller.js';
import { OidcTransaction } from './strategies/oidc-delegate/oidc-transaction.entity.js';
import { OidcTransactionStore } from './strategies/oidc-delegate/oidc-transaction.store.js';

/** RegistrationModule: the OIDC delegate and own-form strategies, both ending in RegistrationsService. */
@Module({
  imports: [TypeOrmModule.forFeature([Registration, IdempotencyKey, OidcTransaction]), CryptoModule, MydexModule, ReturnToModule, SessionModule, ConfigModule.forFeature(oidcConfig), ConfigModule.forFeature(registrationConfig)],
  controllers: [RegistrationsController, OidcDelegateController, OidcLogoutController],
  providers: [RegistrationsService, OwnFormRegistrationStrategy, IdempotencyStore, IdTokenVerifier, OidcTransactionStore, OidcDelegateService],
  exports: [RegistrationsService],
})
export class RegistrationModule {}
