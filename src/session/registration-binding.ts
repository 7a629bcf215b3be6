import type {} from '@fastify/cookie';
import { Inject, Injectable, SetMetadata } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionConfig } from '../config/session.config.js';

/**
 * The registration binding (docs/security.md, "Registration return bound to its client"): an own-form
 * registration is bound to the client that created it by a secret only that client holds, a cookie for
 * web clients and a header for native apps. It decides who may complete the registration on Mydex's
 * return, and, for a while after that, stands in for a member session on the connection routes
 * (`@RegistrationBindingAccepted()`), so a member can connect right after registering.
 *
 * The Registration module owns the rows and registers its lookup here at start-up (the same one-way
 * dependency as SessionConnectionStatus: Registration uses Session, never the other way round).
 */

export type BindingClient = 'web' | 'native';

/** The header a native app sends its `registrationSecret` in. */
export const REGISTRATION_SECRET_HEADER = 'x-registration-secret';

/** Route metadata: the registration binding may stand in for a member session here. */
export const REGISTRATION_BINDING = 'registrationBindingAccepted';

/**
 * On a `@MemberSessionRoute()`: a request without a live session may instead present the binding of
 * an own-form registration completed within REGISTRATION_CONNECT_WINDOW_SECONDS (cookie + `X-CSRF: 1`
 * on unsafe methods, or `X-Registration-Secret`). A live session always wins.
 */
export const RegistrationBindingAccepted = () => SetMetadata(REGISTRATION_BINDING, true);

/** An own-form registration whose binding admits its client to the connection routes right now. */
export interface BoundRegistration {
  registrationId: string;
  client: BindingClient;
  /** The MydexID registered: the member the binding acts for. */
  mydexid: string;
  /** When the connect window ends. */
  until: Date;
}

export type BoundRegistrationLookup = (secret: string, client: BindingClient) => Promise<BoundRegistration | null>;

/** A binding credential as the request presented it (not yet checked). */
export interface PresentedBinding {
  secret: string;
  client: BindingClient;
}

@Injectable()
export class RegistrationBindings {
  private lookup: BoundRegistrationLookup = () => Promise.resolve(null);

  constructor(@Inject(sessionConfig.KEY) private readonly config: ConfigType<typeof sessionConfig>) {}

  /** `__Host-bff_registration`, or `bff_registration` on plain-http localhost (as the session cookie). */
  get cookieName(): string {
    return `${this.config.secureCookies ? '__Host-' : ''}bff_registration`;
  }

  use(lookup: BoundRegistrationLookup): void {
    this.lookup = lookup;
  }

  /** The registration whose connect window this credential opens now, or null. */
  find(presented: PresentedBinding): Promise<BoundRegistration | null> {
    return this.lookup(presented.secret, presented.client);
  }

  /** The header (native) first, then the cookie (web); undefined when neither is there. */
  presented(request: FastifyRequest): PresentedBinding | undefined {
    const header = request.headers[REGISTRATION_SECRET_HEADER];
    if (typeof header === 'string') return { secret: header, client: 'native' };
    const cookie = request.cookies?.[this.cookieName];
    if (cookie !== undefined) return { secret: cookie, client: 'web' };
    return undefined;
  }

  /**
   * HttpOnly, SameSite=Lax (Mydex's return is a top-level GET navigation, which Lax allows), Path=/
   * (the `__Host-` prefix demands it), Secure except on plain-http localhost.
   */
  setCookie(reply: FastifyReply, secret: string, maxAgeSeconds: number): void {
    void reply.setCookie(this.cookieName, secret, { ...this.attributes(), maxAge: Math.max(0, Math.floor(maxAgeSeconds)) });
  }

  clearCookie(reply: FastifyReply): void {
    void reply.clearCookie(this.cookieName, this.attributes());
  }

  private attributes() {
    return { httpOnly: true, secure: this.config.secureCookies, sameSite: 'lax' as const, path: '/' };
  }
}
