import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { DiscoveryModule } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CryptoModule } from '../common/crypto/crypto.module.js';
import { ReturnToModule } from '../common/return-to/return-to.module.js';
import { registrationConfig } from '../config/registration.config.js';
import { MydexModule } from '../mydex/mydex.module.js';
import { SessionModule } from '../session/session.module.js';
import { IdempotencyKey } from './idempotency/idempotency-key.entity.js';
import { IdempotencyStore } from './idempotency/idempotency.store.js';
import { Registration } from './registration.entity.js';
import { RegistrationStrategies } from './registration-strategies.js';
import { RegistrationsController } from './registrations.controller.js';
import { RegistrationsService } from './registrations.service.js';
import { OidcRegistrationStrategy } from './strategies/oidc/oidc-registration.strategy.js';
import { OwnFormRegistrationStrategy } from './strategies/own-form/own-form-registration.strategy.js';
import { Invitation } from './strategies/invitation/invitation.entity.js';
import { InvitationRegistrationStrategy } from './strategies/invitation/invitation-registration.strategy.js';
import { InvitationsController } from './strategies/invitation/invitations.controller.js';
import { InvitationsService } from './strategies/invitation/invitations.service.js';

/**
 * RegistrationModule: the OIDC delegate, own-form and invitation strategies, all ending in RegistrationsService,
 * and the registry that finds every `@RegistrationStrategyFor(name)` provider and refuses to start
 * unless each name has exactly one.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([Registration, IdempotencyKey, Invitation]),
    CryptoModule,
    MydexModule,
    ReturnToModule,
    SessionModule,
    ConfigModule.forFeature(registrationConfig),
    DiscoveryModule,
  ],
  controllers: [RegistrationsController, InvitationsController],
  providers: [
    RegistrationsService,
    RegistrationStrategies,
    OwnFormRegistrationStrategy,
    OidcRegistrationStrategy,
    InvitationRegistrationStrategy,
    InvitationsService,
    IdempotencyStore,
  ],
  exports: [RegistrationsService, RegistrationStrategies, OidcRegistrationStrategy, InvitationsService],
})
export class RegistrationModule {}
