import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { Registration } from './registration.entity.js';
import { RegistrationsService } from './registrations.service.js';

/** RegistrationModule: the OIDC delegate and own-form strategies, both ending in RegistrationsService. */
@Module({
  imports: [TypeOrmModule.forFeature([Registration])],
  providers: [RegistrationsService],
  exports: [RegistrationsService],
})
export class RegistrationModule {}
