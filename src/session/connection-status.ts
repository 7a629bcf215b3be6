import { Injectable } from '@nestjs/common';
import type { AuthenticatedMember } from './authenticated-member.js';

export type ConnectionStatusLookup = (member: AuthenticatedMember) => Promise<boolean>;

/**
 * `GET /v1/session` answers `connected`, which the Connection module knows. To keep the dependency
 * one-way (Connection uses Session), the Connection module registers its lookup here at start-up;
 * until one is registered every member is reported as not connected.
 */
@Injectable()
export class SessionConnectionStatus {
  private lookup: ConnectionStatusLookup = () => Promise.resolve(false);

  use(lookup: ConnectionStatusLookup): void {
    this.lookup = lookup;
  }

  isConnected(member: AuthenticatedMember): Promise<boolean> {
    return this.lookup(member);
  }
}
