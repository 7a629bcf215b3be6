import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { mydexConfig } from '../../../config/mydex.config.js';
import { oidcConfig } from '../../../config/oidc.config.js';
import { ProblemException } from '../../../common/problem/problem.exception.js';

/** What the relying party needs to know about the provider. */
export interface ProviderMetadata {
  /** The exact `iss` of the provider's ID tokens and RFC 9207 responses. */
  issuer: string;
  authorizationEndpoint: string;
  tokenEndpoint: string;
  userinfoEndpoint: string;
  jwksUri: string;
  endSessionEndpoint: string | undefined;
  /** Asymmetric ID token algorithms the provider announces (never `none`, never HMAC). */
  idTokenAlgorithms: string[];
  /** RFC 9207: when announced, a callback without `iss` is refused. */
  issParameterSupported: boolean;
}

const ASYMMETRIC = /^(RS|PS|ES)(256|384|512)$|^EdDSA$|^Ed25519$/;
const METADATA_TTL_MS = 60 * 60 * 1000;
/** After a failed discovery, how long the stale copy (or the configured endpoints) is used before trying again. */
const DISCOVERY_RETRY_MS = 30 * 1000;

/**
 * The provider side of OIDC: discovery (each endpoint overridable by config), and the JWKS. Every
 * outbound call of the relying party except token and UserInfo goes through here, with a timeout.
 */
@Injectable()
export class MydexOidcProvider {
  private readonly logger = new Logger(MydexOidcProvider.name);
  private cached: { metadata: ProviderMetadata; at: number } | undefined;
  private keySet: { uri: string; get: JWTVerifyGetKey } | undefined;

  constructor(
    @Inject(mydexConfig.KEY) private readonly mydex: ConfigType<typeof mydexConfig>,
    @Inject(oidcConfig.KEY) private readonly oidc: ConfigType<typeof oidcConfig>,
  ) {}

  get clientId(): string {
    return this.mydex.clientId;
  }

  /**
   * Provider metadata; discovery is cached for an hour. While it fails, a stale copy (or the configured
   * endpoints) is used and discovery retried every 30 s, not on every request: each attempt can take
   * the whole timeout, and one metadata object keeps the passport strategy built once.
   */
  async metadata(): Promise<ProviderMetadata> {
    if (this.cached && Date.now() - this.cached.at < METADATA_TTL_MS) return this.cached.metadata;
    try {
      const metadata = await this.discover();
      this.cached = { metadata, at: Date.now() };
      return metadata;
    } catch (error) {
      const fallback = this.cached?.metadata ?? this.fromOverridesOnly();
      if (fallback) {
        this.cached = { metadata: fallback, at: Date.now() - METADATA_TTL_MS + DISCOVERY_RETRY_MS };
        return fallback;
      }
      this.logger.warn({ err: error }, 'OIDC discovery failed and the endpoints are not all configured');
      throw new ProblemException('upstream_unavailable', 'The Mydex login service could not be reached; try again shortly.', {
        headers: { 'retry-after': '5' },
      });
    }
  }

  /** The provider's keys, fetched on first use, cached, and refetched when a token names an unknown `kid`. */
  keys(metadata: ProviderMetadata): JWTVerifyGetKey {
    if (this.keySet?.uri !== metadata.jwksUri) {
      this.keySet = {
        uri: metadata.jwksUri,
        get: createRemoteJWKSet(new URL(metadata.jwksUri), {
          timeoutDuration: this.oidc.timeoutMs,
          cooldownDuration: 30_000,
          cacheMaxAge: 10 * 60_000,
        }),
      };
    }
    return this.keySet.get;
  }

  private async discover(): Promise<ProviderMetadata> {
    const configured = this.mydex.issuer;
    // Mydex's issuer carries a trailing slash in its tokens (https://sbx-op.mydexid.org/); discovery lives
    // under the issuer without it, and the document's `issuer` tells which spelling the tokens use.
    const url = `${configured.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const response = await fetch(url, { signal: AbortSignal.timeout(this.oidc.timeoutMs), headers: { accept: 'application/json' } });
    if (!response.ok) throw new Error(`discovery answered ${response.status}`);
    const document = (await response.json()) as Record<string, unknown>;
    const issuer = stringField(document, 'issuer');
    if (issuer === undefined || stripSlash(issuer) !== stripSlash(configured)) {
      throw new Error('discovery issuer does not match MYDEX_ISSUER');
    }
    const overrides = this.oidc.overrides;
    const required = (override: string | undefined, name: string): string => {
      const value = override ?? stringField(document, name);
      if (value === undefined) throw new Error(`discovery has no ${name} and none is configured`);
      return value;
    };
    const algorithms = Array.isArray(document.id_token_signing_alg_values_supported)
      ? document.id_token_signing_alg_values_supported.filter((alg): alg is string => typeof alg === 'string' && ASYMMETRIC.test(alg))
      : [];
    return {
      issuer,
      authorizationEndpoint: required(overrides.authorizationEndpoint, 'authorization_endpoint'),
      tokenEndpoint: required(overrides.tokenEndpoint, 'token_endpoint'),
      userinfoEndpoint: required(overrides.userinfoEndpoint, 'userinfo_endpoint'),
      jwksUri: required(overrides.jwksUri, 'jwks_uri'),
      endSessionEndpoint: overrides.endSessionEndpoint ?? stringField(document, 'end_session_endpoint'),
      idTokenAlgorithms: algorithms.length > 0 ? algorithms : ['RS256'],
      issParameterSupported: document.authorization_response_iss_parameter_supported === true,
    };
  }

  /** Without discovery, every endpoint must come from config; the issuer is then MYDEX_ISSUER as written. */
  private fromOverridesOnly(): ProviderMetadata | undefined {
    const o = this.oidc.overrides;
    if (!o.authorizationEndpoint || !o.tokenEndpoint || !o.userinfoEndpoint || !o.jwksUri) return undefined;
    return {
      issuer: this.mydex.issuer,
      authorizationEndpoint: o.authorizationEndpoint,
      tokenEndpoint: o.tokenEndpoint,
      userinfoEndpoint: o.userinfoEndpoint,
      jwksUri: o.jwksUri,
      endSessionEndpoint: o.endSessionEndpoint,
      idTokenAlgorithms: ['RS256'],
      issParameterSupported: false,
    };
  }
}

function stringField(document: Record<string, unknown>, name: string): string | undefined {
  const value = document[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function stripSlash(value: string): string {
  return value.replace(/\/+$/, '');
}
