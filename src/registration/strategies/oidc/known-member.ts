import { Not, Raw, type DataSource } from 'typeorm';
import { MemberSession } from '../../../session/member-session.entity.js';
import { Registration } from '../../registration.entity.js';

/** Who came back from Mydex: the OIDC subject at its issuer, and the MydexID UserInfo disclosed. */
export interface ReturningMember {
  issuer: string;
  sub: string;
  mydexid: string | null;
}

/**
 * Whether the BFF already knew this member before an `intent=register` callback. Mydex's
 * registration page also offers "Log in", and a member already logged in at Mydex comes straight
 * back; neither is a registration, and nothing in Mydex's answer tells them apart from one [I]. So
 * a member counts as known, and the callback as a login, when our database holds any of:
 *
 * - a completed registration with this `sub` (an earlier OIDC registration);
 * - a completed registration with this MydexID in any letter case (an own-form registration, which
 *   has no `sub`; MydexIDs are unique case-insensitively [I]);
 * - a session for this `sub` at this issuer other than `exceptSessionId` (the one this callback has
 *   just opened): the member logged in here before. Ended sessions count until they are purged, a
 *   day after they expire.
 *
 * A member who registered at Mydex elsewhere and never used this BFF is not known, so choosing
 * "Log in" on the registration page records a registration for them: the BFF cannot tell [I].
 */
export async function isKnownMember(dataSource: DataSource, member: ReturningMember, exceptSessionId?: string): Promise<boolean> {
  const registrations = dataSource.getRepository(Registration);
  const bySub = registrations.existsBy({ status: 'completed', sub: member.sub });
  const mydexid = member.mydexid?.toLowerCase();
  const byMydexid = mydexid
    ? registrations.existsBy({ status: 'completed', mydexid: Raw((column) => `LOWER(${column}) = :mydexid`, { mydexid }) })
    : Promise.resolve(false);
  const bySession = dataSource
    .getRepository(MemberSession)
    .existsBy({ issuer: member.issuer, sub: member.sub, ...(exceptSessionId ? { id: Not(exceptSessionId) } : {}) });
  const found = await Promise.all([bySub, byMydexid, bySession]);
  return found.some(Boolean);
}
