import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { sessionConfig } from '../config/session.config.js';
import { SessionConnectionStatus } from './connection-status.js';
import { MemberSession } from './member-session.entity.js';
import { MemberSessionGuard } from './member-session.guard.js';
import { RegistrationBindings } from './registration-binding.js';
import { SessionCookies } from './session-cookies.js';
import { SessionController } from './session.controller.js';
import { SessionsService } from './sessions.service.js';

/**
 * Member sessions: web (HttpOnly cookie) and native (bearer token). MemberSessionGuard runs for every
 * route, and acts on those declared `@MemberSessionRoute()`; `@CurrentMember()` reads the member.
 */
@Module({
  imports: [TypeOrmModule.forFeature([MemberSession]), ConfigModule.forFeature(sessionConfig)],
  controllers: [SessionController],
  providers: [
    SessionsService,
    SessionCookies,
    SessionConnectionStatus,
    RegistrationBindings,
    MemberSessionGuard,
    { provide: APP_GUARD, useExisting: MemberSessionGuard },
  ],
  exports: [SessionsService, SessionCookies, SessionConnectionStatus, RegistrationBindings, MemberSessionGuard],
})
export class SessionModule {}
