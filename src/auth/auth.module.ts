import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { RegistrationModule } from '../registration/registration.module.js';
import { SessionModule } from '../session/session.module.js';
import { BackchannelLogoutController } from './backchannel-logout.controller.js';
import { BackchannelLogoutService } from './backchannel-logout.service.js';
import { LogoutTokenJti } from './logout-token-jti.entity.js';
import { LogoutTokenVerifier } from './logout-token.verifier.js';

/**
 * Authentication with Mydex beyond the login flow itself: back-channel logout. It uses the relying
 * party's provider (discovery, JWKS) from the OIDC delegate strategy and ends sessions through
 * SessionsService.
 */
@Module({
  imports: [TypeOrmModule.forFeature([LogoutTokenJti]), RegistrationModule, SessionModule],
  controllers: [BackchannelLogoutController],
  providers: [LogoutTokenVerifier, BackchannelLogoutService],
})
export class AuthModule {}
