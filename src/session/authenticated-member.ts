import type { SessionClient } from './member-session.entity.js';

/** The member behind the current request, as MemberSessionGuard found it. */
export interface AuthenticatedMember {
  /**
   * How the request was admitted: a member session, or (on `@RegistrationBindingAccepted()` routes
   * only) the binding of an own-form registration completed moments ago. For `registration`,
   * `sessionId` is `registration:<id>`, `issuer` is `bff:registration`, `sub` is `registration:<id>`
   * (the member's subject at Mydex is not known without a login) and `mydexid` is the MydexID
   * registered.
   */
  via: 'session' | 'registration';
  sessionId: string;
  client: SessionClient;
  issuer: string;
  /** The member's subject at Mydex: with `issuer`, the member's identity. */
  sub: string;
  mydexid: string | null;
  /** When the session ends, or the registration's connect window. */
  expiresAt: Date;
  /**
   * Whether the member has a connection, read with the session on routes that declare
   * `@WithConnectionStatus()`; undefined elsewhere and for registration bindings.
   */
  connected?: boolean;
}

/** Where the guard leaves the member on the request (read through @CurrentMember()). */
export const MEMBER = Symbol('member');

export type RequestWithMember = { [MEMBER]?: AuthenticatedMember };
