import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { mydexConfig } from '../config/mydex.config.js';
import { oidcConfig } from '../config/oidc.config.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { unavailable } from './client-credentials.js';
import { parseJson, retryAfterSeconds } from './mydex-answers.js';
import { exchange, type MydexAnswer, type UpstreamObserver } from './mydex-http.js';

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
 * A discovery document that is not used: not served (not 200), not JSON, or naming another issuer than
 * MYDEX_ISSUER (whoever answers there is not the provider configured, so none of its endpoints is
 * trusted). A transport failure or a 5xx/429 is thrown as itself instead.
 */
export class DiscoveryRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DiscoveryRefused';
  }
}

/**
 * The one OIDC discovery client, and the JWKS: discovery (each endpoint overridable by config, the
 * document's `issuer` checked against MYDEX_ISSUER), for the relying party (`metadata()`), back-channel
 * logout and the client-credentials token of the PDX API (`tokenEndpoint()`). Every outbound call of
 * the relying party except token and UserInfo goes through here, with a timeout.
 */
@Injectable()
export class MydexOidcProvider {
  private readonly logger = new Logger(MydexOidcProvider.name);
  /** The last document that passed the issuer check, and when it was fetched. */
  private document: { value: Record<string, unknown>; at: number } | undefined;
  /** The last failed discovery: until `until`, callers get the stale document, or this error, without a new fetch. */
  private failure: { error: unknown; until: number } | undefined;
  private inflight: Promise<Record<string, unknown>> | undefined;
  /** Metadata built from one document (or from the configured endpoints alone): one object per source, so the passport strategy is built once. */
  private built: { from: Record<string, unknown> | 'overrides'; metadata: ProviderMetadata } | undefined;
  private keySet: { uri: string; get: JWTVerifyGetKey } | undefined;

  constructor(
    @Inject(mydexConfig.KEY) private readonly mydex: ConfigType<typeof mydexConfig>,
    @Inject(oidcConfig.KEY) private readonly oidc: ConfigType<typeof oidcConfig>,
    @Optional() private readonly metrics?: MetricsService,
  ) {}

  get clientId(): string {
    return this.mydex.clientId;
  }

  /**
   * Provider metadata from discovery (see discovered(): cached for an hour, a stale copy while it
   * fails), each endpoint overridable by config; without any document, the configured endpoints
   * alone when all are set, else 503 upstream_unavailable.
   */
  async metadata(): Promise<ProviderMetadata> {
    try {
      const document = await this.discovered();
      if (this.built?.from !== document) this.built = { from: document, metadata: this.fromDocument(document) };
      return this.built.metadata;
    } catch (error) {
      if (this.built?.from === 'overrides') return this.built.metadata;
      const configured = this.fromOverridesOnly();
      if (configured) {
        this.built = { from: 'overrides', metadata: configured };
        return configured;
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

  /**
   * Where the client-credentials token (PDX API) is asked for: MYDEX_TOKEN_URL when set (no discovery
   * needed), else the discovered `token_endpoint`, else `{issuer}/oauth2/token` when discovery is not
   * served, names no usable token endpoint, or is refused (another issuer): Mydex's provider looks like
   * ORY Hydra, which serves it there [I]. A discovery that fails in transport or with a 5xx/429, with
   * no earlier document to fall back on, is thrown (MydexTransportError or 503 upstream_unavailable),
   * so a token is not asked for blindly.
   */
  async tokenEndpoint(): Promise<string> {
    const configured = this.oidc.overrides.tokenEndpoint;
    if (configured) return configured;
    const fallback = `${stripSlash(this.mydex.issuer)}/oauth2/token`;
    try {
      return this.endpointField(await this.discovered(), 'token_endpoint') ?? fallback;
    } catch (error) {
      if (error instanceof DiscoveryRefused) return fallback;
      throw error;
    }
  }

  /**
   * The discovery document, cached for an hour once it passed the issuer check; one fetch at a time.
   * When a fetch fails (transport, 5xx, refused), the last good document is used, and discovery is not
   * asked again for 30 s: each attempt can take the whole timeout, and neither the relying party nor
   * the PDX API's token should stop because discovery alone is down.
   */
  private async discovered(): Promise<Record<string, unknown>> {
    const now = Date.now();
    if (this.document && now - this.document.at < METADATA_TTL_MS) return this.document.value;
    if (this.failure && now < this.failure.until) {
      if (this.document) return this.document.value;
      throw this.failure.error;
    }
    this.inflight ??= this.fetchDocument().finally(() => {
      this.inflight = undefined;
    });
    try {
      const value = await this.inflight;
      if (this.document?.value !== value) this.document = { value, at: Date.now() };
      this.failure = undefined;
      return value;
    } catch (error) {
      this.failure = { error, until: Date.now() + DISCOVERY_RETRY_MS };
      if (this.document) return this.document.value;
      throw error;
    }
  }

  private async fetchDocument(): Promise<Record<string, unknown>> {
    const configured = this.mydex.issuer;
    const answer = await requestDiscovery(
      configured,
      this.oidc.timeoutMs,
      this.metrics ? (endpoint, outcome, seconds) => this.metrics!.upstreamDuration.observe({ endpoint, outcome }, seconds) : undefined,
    );
    if (answer.status >= 500 || answer.status === 429) {
      throw unavailable(retryAfterSeconds(answer.headers.get('retry-after')));
    }
    if (answer.status !== 200) throw new DiscoveryRefused(`discovery answered ${answer.status}`);
    const document = parseJson(answer.text);
    if (document === null || typeof document !== 'object' || Array.isArray(document))
      throw new DiscoveryRefused('discovery is not a JSON object');
    const issuer = stringField(document as Record<string, unknown>, 'issuer');
    if (issuer === undefined || stripSlash(issuer) !== stripSlash(configured)) {
      // The document's text is not ours: bounded in the log.
      this.logger.warn(
        `OIDC discovery names the issuer ${JSON.stringify((issuer ?? '(none)').slice(0, 200))}, not MYDEX_ISSUER ${configured}: its endpoints are not used`,
      );
      throw new DiscoveryRefused('discovery issuer does not match MYDEX_ISSUER');
    }
    return document as Record<string, unknown>;
  }

  /**
   * An endpoint of the document: an absolute URL, https unless the issuer itself is http (the local
   * emulator). OpenID Connect Discovery requires https endpoints; a document that names an http one
   * for an https issuer would send the client secret or accept keys in clear text.
   */
  private endpointField(document: Record<string, unknown>, name: string): string | undefined {
    const value = stringField(document, name);
    if (value === undefined || !URL.canParse(value)) return undefined;
    const protocol = new URL(value).protocol;
    return protocol === 'https:' || (protocol === 'http:' && this.mydex.issuer.startsWith('http:')) ? value : undefined;
  }

  private fromDocument(document: Record<string, unknown>): ProviderMetadata {
    const issuer = stringField(document, 'issuer')!;
    const overrides = this.oidc.overrides;
    const required = (override: string | undefined, name: string): string => {
      const value = override ?? this.endpointField(document, name);
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
      endSessionEndpoint: overrides.endSessionEndpoint ?? this.endpointField(document, 'end_session_endpoint'),
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

/** GET `{issuer without trailing slash}/.well-known/openid-configuration`, following redirects within its origin only. */
export function requestDiscovery(issuer: string, timeoutMs: number, observe?: UpstreamObserver): Promise<MydexAnswer> {
  // Mydex's issuer carries a trailing slash in its tokens (https://sbx-op.mydexid.org/); discovery lives
  // under the issuer without it, and the document's `issuer` tells which spelling the tokens use.
  return exchange(
    discoveryUrl(issuer),
    { method: 'GET', headers: { accept: 'application/json' } },
    { timeoutMs, networkRetries: 1, followRedirects: true, observe },
  );
}

export function discoveryUrl(issuer: string): string {
  return `${stripSlash(issuer)}/.well-known/openid-configuration`;
}

function stringField(document: Record<string, unknown>, name: string): string | undefined {
  const value = document[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function stripSlash(value: string): string {
  return value.replace(/\/+$/, '');
}
