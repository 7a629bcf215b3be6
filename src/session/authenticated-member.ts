import type { SessionClient } from './member-session.entity.js';

/** The member behind the current request, as MemberSessionGuard found it. */
export interface AuthenticatedMember {
  sessionId: string;
  client: SessionClient;
  issuer: string;
  /** The member's subject at Mydex: with `issuer`, the member's identity. */
  sub: string;
  mydexid: string | null;
  expiresAt: Date;
}

/** Where the guard leaves the member on the request (read through @CurrentMember()). */
export const MEMBER = Symbol('member');

export type RequestWithMember = { [MEMBER]?: AuthenticatedMember };
