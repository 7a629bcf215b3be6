import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { challengeConfig } from './challenge.config.js';
import { RegistrationChallengeCheck, RegistrationChallengeGuard } from './registration-challenge.guard.js';

/** The optional human check on own-form registration. Global so the guard resolves in the registration module. */
@Global()
@Module({
  imports: [ConfigModule.forFeature(challengeConfig)],
  providers: [RegistrationChallengeCheck, RegistrationChallengeGuard],
  exports: [RegistrationChallengeCheck, RegistrationChallengeGuard],
})
export class RegistrationChallengeModule {}
