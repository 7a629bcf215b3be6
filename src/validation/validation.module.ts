import { Module } from '@nestjs/common';
import { ValidationController } from './validation.controller.js';

/**
 * ValidationModule: the registration and Private Key rules (one catalogue, class-validator DTOs) and
 * their endpoints. It has no providers to export: the rules are plain functions and DTO classes that
 * the own-form strategy and the emulator import directly (registration-rules.ts, registration-body.ts).
 */
@Module({
  controllers: [ValidationController],
})
export class ValidationModule {}
