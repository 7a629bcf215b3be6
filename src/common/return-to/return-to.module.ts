import { Module } from '@nestjs/common';
import { ReturnToPolicy } from './return-to.policy.js';

/** The redirect allowlist, for every feature that sends a browser back to a caller-given address. */
@Module({
  providers: [ReturnToPolicy],
  exports: [ReturnToPolicy],
})
export class ReturnToModule {}
