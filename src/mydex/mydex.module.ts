import { Module } from '@nestjs/common';
import { MydexClient } from './mydex.client.js';

/** MydexClient: the BFF's only Mydex-facing HTTP besides the OIDC strategy. */
@Module({
  providers: [MydexClient],
  exports: [MydexClient],
})
export class MydexModule {}
