import { Injectable, SetMetadata } from '@nestjs/common';
import type { AuthenticatedMember } from './authenticated-member.js';

export type ConnectionStatusLookup = (member: AuthenticatedMember) => Promise<boolean>;

/**
 * An SQL condition that is true when the member whose MydexID is in `mydexidColumn` has a connection:
 * MemberSessionGuard joins it into the session lookup on routes that declare
 * `@WithConnectionStatus()`, so `GET /v1/session` is one statement (one round trip on PostgreSQL).
 */
export type ConnectionStatusSql = (mydexidColumn: string) => string;

export const WITH_CONNECTION_STATUS = 'withConnectionStatus';

/** The route answers the member's `connected`: the session lookup reads it in the same statement. */
export const WithConnectionStatus = () => SetMetadata(WITH_CONNECTION_STATUS, true);

/**
 * `GET /v1/session` answers `connected`, which the Connection module knows. To keep the dependency
 * one-way (Connection uses Session), the Connection module registers its lookup here at start-up;
 * until one is registered every member is reported as not connected.
 */
@Injectable()
export class SessionConnectionStatus {
  private lookup: ConnectionStatusLookup = () => Promise.resolve(false);
  private condition: ConnectionStatusSql | undefined;

  /** `sql`, when given, is the same check as `lookup`, for the session lookup to join in. */
  use(lookup: ConnectionStatusLookup, sql?: ConnectionStatusSql): void {
    this.lookup = lookup;
    this.condition = sql;
  }

  /** The registered check as an SQL condition on `mydexidColumn`, if the Connection module gave one. */
  sql(mydexidColumn: string): string | undefined {
    return this.condition?.(mydexidColumn);
  }

  isConnected(member: AuthenticatedMember): Promise<boolean> {
    return this.lookup(member);
  }
}
