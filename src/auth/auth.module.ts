import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ReturnToModule } from '../common/return-to/return-to.module.js';
import { oidcConfig } from '../config/oidc.config.js';
import { MydexModule } from '../mydex/mydex.module.js';
import { RegistrationModule } from '../registration/registration.module.js';
import { SessionModule } from '../session/session.module.js';
import { BackchannelLogoutController } from './backchannel-logout.controller.js';
import { BackchannelLogoutService } from './backchannel-logout.service.js';
import { LogoutTokenJti } from './logout-token-jti.entity.js';
import { LogoutTokenVerifier } from './logout-token.verifier.js';
import { IdTokenVerifier } from './oidc/id-token.verifier.js';
import { OidcDelegateController } from './oidc/oidc-delegate.controller.js';
import { OidcDelegateService } from './oidc/oidc-delegate.service.js';
import { OidcLogoutController } from './oidc/oidc-logout.controller.js';
import { OidcTransaction } from './oidc/oidc-transaction.entity.js';
import { OidcTransactionStore } from './oidc/oidc-transaction.store.js';

/**
 * Authentication with Mydex: the OpenID Connect relying party (authorize, callback, the native
 * session exchange, logout: `oidc/`) and back-channel logout. It uses the provider from MydexModule
 * (discovery, JWKS), opens and ends sessions through SessionModule, and hands an `intent=register`
 * return to the OIDC registration strategy (RegistrationModule). URLs are unchanged by the move from
 * auth/oidc.
 */
@Module({
  imports: [
    TypeOrmModule.forFeature([LogoutTokenJti, OidcTransaction]),
    ConfigModule.forFeature(oidcConfig),
    MydexModule,
    SessionModule,
    ReturnToModule,
    RegistrationModule,
  ],
  controllers: [OidcDelegateController, OidcLogoutController, BackchannelLogoutController],
  providers: [IdTokenVerifier, OidcTransactionStore, OidcDelegateService, LogoutTokenVerifier, BackchannelLogoutService],
})
export class AuthModule {}
