import { parseArgs } from 'node:util';
import type { InvitationsService } from './invitations.service.js';

export const INVITATIONS_USAGE = [
  'npm run invitations -- create --email <address> [--days <1-365>] [--page <url>]',
  '  creates a single-use invitation (default: usable for 7 days) and prints the link to send the member:',
  '  <page>#invitation=<token>, where <page> (default: the first FRONTEND_ORIGINS origin + /invitation) is',
  '  the frontend page that reads GET /v1/invitations/{token} and posts the form through it.',
].join('\n');

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * `npm run invitations`: the operator's way to invite a member (docs/extending.md, "Add a registration
 * strategy"). The token travels in the link's fragment, which browsers send to no server, so it stays
 * out of access logs and Referer headers. Prints the link once: the database keeps only its hash.
 * Answers the exit status: 0 created, 1 refused (a bad email or expiry), 64 usage.
 */
export async function runInvitationsCommand(
  args: readonly string[],
  invitations: InvitationsService,
  defaultPage: string,
  out: (line: string) => void,
): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { email: { type: 'string' }, days: { type: 'string' }, page: { type: 'string' } },
    });
  } catch {
    out(INVITATIONS_USAGE);
    return 64;
  }
  const { positionals, values } = parsed;
  const days = values.days === undefined ? undefined : Number(values.days);
  const page = pageUrl(values.page ?? defaultPage);
  if (
    positionals.join(' ') !== 'create' ||
    values.email === undefined ||
    (days !== undefined && !(Number.isInteger(days) && days >= 1 && days <= 365)) ||
    page === undefined
  ) {
    out(INVITATIONS_USAGE);
    return 64;
  }
  try {
    const created = await invitations.create({
      email: values.email,
      ...(days === undefined ? {} : { expiresAt: new Date(Date.now() + days * DAY_MS) }),
    });
    page.hash = `invitation=${created.token}`;
    out(`Invitation ${created.id} for ${created.email}, usable once until ${created.expiresAt.toISOString()}:`);
    out(page.toString());
    return 0;
  } catch (error) {
    out(error instanceof Error ? error.message : String(error));
    return 1;
  }
}

/** An http(s) URL to put the token on, or undefined. */
function pageUrl(text: string): URL | undefined {
  const url = URL.canParse(text) ? new URL(text) : undefined;
  return url && (url.protocol === 'https:' || url.protocol === 'http:') ? url : undefined;
}
