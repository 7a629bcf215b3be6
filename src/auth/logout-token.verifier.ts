import { Injectable } from '@nestjs/common';
import { decodeProtectedHeader, errors, jwtVerify, type JWTPayload } from 'jose';
import { CLOCK_SKEW_SECONDS } from './oidc/id-token.verifier.js';
import { MydexOidcProvider } from '../mydex/mydex-oidc-provider.js';

/** The event a logout token must carry (OpenID Connect Back-Channel Logout 1.0, 2.4). */
export const BACKCHANNEL_LOGOUT_EVENT = 'http://schemas.openid.net/event/backchannel-logout';

/** A logout token issued longer ago than this is refused (its `jti` is kept at most this long). */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 600;

/** `typ` values accepted: the explicit type the spec recommends, or the generic ones providers send [I]. */
const ACCEPTED_TYP = new Set(['logout+jwt', 'application/logout+jwt', 'jwt']);

export class LogoutTokenRejected extends Error {
  constructor(readonly reason: string) {
    super(`logout token rejected: ${reason}`);
    this.name = 'LogoutTokenRejected';
  }
}

export interface VerifiedLogoutToken {
  issuer: string;
  sub?: string;
  sid?: string;
  jti: string;
  /** When the token stops being acceptable (its `exp`, or `iat` + the maximum age, whichever is first). */
  usableUntil: Date;
}

/**
 * Validates a back-channel logout token as OpenID Connect Back-Channel Logout 1.0, 2.6 asks, with the
 * same discovery and JWKS as the ID token (MydexOidcProvider): the signature (the provider's
 * asymmetric ID token algorithms only), `iss`, `aud` (our client id), `iat` (at most 10 minutes old,
 * 60 s skew), `exp` when present, the `events` claim, no `nonce`, `sub` and/or `sid`, and a `jti`.
 * Single use of the `jti` is BackchannelLogoutService's job (it needs the database).
 */
@Injectable()
export class LogoutTokenVerifier {
  constructor(private readonly provider: MydexOidcProvider) {}

  async verify(token: string): Promise<VerifiedLogoutToken> {
    let typ: unknown;
    try {
      typ = decodeProtectedHeader(token).typ;
    } catch {
      throw new LogoutTokenRejected('not a JWS');
    }
    if (typ !== undefined && (typeof typ !== 'string' || !ACCEPTED_TYP.has(typ.toLowerCase())))
      throw new LogoutTokenRejected('typ is not a logout token');
    const metadata = await this.provider.metadata();
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, this.provider.keys(metadata), {
        issuer: metadata.issuer,
        audience: this.provider.clientId,
        algorithms: metadata.idTokenAlgorithms,
        clockTolerance: CLOCK_SKEW_SECONDS,
        maxTokenAge: LOGOUT_TOKEN_MAX_AGE_SECONDS,
        requiredClaims: ['iss', 'aud', 'iat', 'jti', 'events'],
      }));
    } catch (error) {
      throw new LogoutTokenRejected(error instanceof errors.JOSEError ? error.code : 'unreadable');
    }
    const events = payload.events;
    if (typeof events !== 'object' || events === null || Array.isArray(events)) throw new LogoutTokenRejected('events is not an object');
    const event = (events as Record<string, unknown>)[BACKCHANNEL_LOGOUT_EVENT];
    if (typeof event !== 'object' || event === null || Array.isArray(event))
      throw new LogoutTokenRejected('events lacks the back-channel logout event');
    // A nonce would make it an ID token, which must never be accepted as a logout token.
    if ('nonce' in payload) throw new LogoutTokenRejected('nonce present');
    const sub = optionalString(payload.sub, 128, 'sub');
    const sid = optionalString(payload.sid, 255, 'sid');
    if (sub === undefined && sid === undefined) throw new LogoutTokenRejected('neither sub nor sid');
    const jti = optionalString(payload.jti, 255, 'jti');
    if (jti === undefined) throw new LogoutTokenRejected('jti missing');
    if (Array.isArray(payload.aud) && payload.aud.length > 1 && payload.azp !== undefined && payload.azp !== this.provider.clientId) {
      throw new LogoutTokenRejected('azp is another client');
    }
    const iatMs = (payload.iat as number) * 1000;
    const byAge = iatMs + (LOGOUT_TOKEN_MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS) * 1000;
    const byExp = typeof payload.exp === 'number' ? (payload.exp + CLOCK_SKEW_SECONDS) * 1000 : Number.POSITIVE_INFINITY;
    return { issuer: metadata.issuer, sub, sid, jti, usableUntil: new Date(Math.min(byAge, byExp)) };
  }
}

function optionalString(value: unknown, maxLength: number, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '' || value.length > maxLength) throw new LogoutTokenRejected(`${name} malformed`);
  return value;
}
