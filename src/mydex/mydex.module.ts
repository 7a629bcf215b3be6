import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { oidcConfig } from '../config/oidc.config.js';
import { MydexOidcProvider } from './mydex-oidc-provider.js';
import { MydexClient } from './mydex.client.js';

/**
 * Everything that talks to Mydex: MydexClient (PDX API) and MydexOidcProvider, the one OIDC discovery
 * client (and JWKS), used by the relying party, back-channel logout and MydexClient's client-credentials
 * token alike.
 */
@Module({
  imports: [ConfigModule.forFeature(oidcConfig)],
  providers: [MydexClient, MydexOidcProvider],
  exports: [MydexClient, MydexOidcProvider],
})
export class MydexModule {}
