import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { MydexModule } from '../mydex/mydex.module.js';
import { SessionModule } from '../session/session.module.js';
import { BackchannelLogoutController } from './backchannel-logout.controller.js';
import { BackchannelLogoutService } from './backchannel-logout.service.js';
import { LogoutTokenJti } from './logout-token-jti.entity.js';
import { LogoutTokenVerifier } from './logout-token.verifier.js';

/**
 * Authentication with Mydex beyond the login flow itself: back-channel logout. It uses the relying
 * party's provider (discovery, JWKS: MydexOidcProvider from MydexModule) and ends sessions through
 * SessionsService.
 */
@Module({
  imports: [TypeOrmModule.forFeature([LogoutTokenJti]), MydexModule, SessionModule],
  controllers: [BackchannelLogoutController],
  providers: [LogoutTokenVerifier, BackchannelLogoutService],
})
export class AuthModule {}
