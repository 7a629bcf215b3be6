import { Injectable } from '@nestjs/common';
import { errors, jwtVerify, type JWTPayload } from 'jose';
import { sameHex, sha256Hex } from '../../session/session-token.js';
import { MydexOidcProvider, type ProviderMetadata } from '../../mydex/mydex-oidc-provider.js';

/** Clock skew tolerated on `exp`, `iat` and `nbf`. */
export const CLOCK_SKEW_SECONDS = 60;

export class IdTokenRejected extends Error {
  constructor(readonly reason: string) {
    super(`ID token rejected: ${reason}`);
    this.name = 'IdTokenRejected';
  }
}

export interface VerifiedIdToken {
  claims: JWTPayload & { sub: string; iss: string };
}

/**
 * The checks passport-openidconnect 0.1.2 leaves out: the signature against the provider's JWKS
 * (asymmetric algorithms only, so `alg: none` and HMAC tricks fail), and `iss`, `aud`, `azp`, `exp`,
 * `iat` with a small skew, and `nonce` against the transaction's (hashed) nonce.
 */
@Injectable()
export class IdTokenVerifier {
  constructor(private readonly provider: MydexOidcProvider) {}

  async verify(idToken: string, metadata: ProviderMetadata, expectedNonceHash: string): Promise<VerifiedIdToken> {
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(idToken, this.provider.keys(metadata), {
        issuer: metadata.issuer,
        audience: this.provider.clientId,
        algorithms: metadata.idTokenAlgorithms,
        clockTolerance: CLOCK_SKEW_SECONDS,
        // The transaction lives 10 minutes; an ID token older than that cannot belong to it.
        maxTokenAge: 600,
        requiredClaims: ['iss', 'sub', 'aud', 'exp', 'iat', 'nonce'],
      }));
    } catch (error) {
      throw new IdTokenRejected(error instanceof errors.JOSEError ? error.code : 'unreadable');
    }
    const aud = payload.aud;
    if (Array.isArray(aud) && aud.length > 1 && payload.azp === undefined) throw new IdTokenRejected('azp missing for several audiences');
    if (payload.azp !== undefined && payload.azp !== this.provider.clientId) throw new IdTokenRejected('azp is another client');
    if (typeof payload.nonce !== 'string' || !sameHex(sha256Hex(payload.nonce), expectedNonceHash))
      throw new IdTokenRejected('nonce mismatch');
    if (typeof payload.sub !== 'string' || payload.sub === '' || payload.sub.length > 128) throw new IdTokenRejected('sub malformed');
    return { claims: payload as VerifiedIdToken['claims'] };
  }
}
