import { Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import type { EventOrigin } from '../../../events/domain-events.js';
import type { Registration } from '../../registration.entity.js';
import type { RegistrationStrategy } from '../../registration-strategy.js';
import { RegistrationStrategyFor } from '../../registration-strategies.js';
import { RegistrationsService } from '../../registrations.service.js';
import { isKnownMember, type ReturningMember } from './known-member.js';

/** What the relying party adds to Mydex's authorization request for a registration. */
export interface OidcRegistrationParams {
  action: 'register';
  /** Pre-fills Mydex's registration form. */
  email?: string;
}

/** A member back from Mydex at the OIDC callback of an `intent=register` flow. */
export interface OidcRegistrationReturn {
  member: ReturningMember;
  /** The session the callback has just opened (not counted as "known"). */
  sessionId?: string;
  returnTo: string | null;
}

/**
 * Registration delegated to Mydex (Mydex's recommendation): the member registers on Mydex's Login and
 * Consent App and comes back through the OIDC callback, logged in. `start` answers the parameters the
 * relying party (src/auth/oidc) adds to its authorization request; `complete` records the
 * registration at the callback, only for a member the BFF did not know (known-member.ts): one who
 * chose "Log in" on Mydex's registration page, or was already logged in there, has logged in, not
 * registered a second time [I].
 */
@Injectable()
@RegistrationStrategyFor('oidc')
export class OidcRegistrationStrategy implements RegistrationStrategy<
  { email?: string },
  OidcRegistrationParams,
  OidcRegistrationReturn,
  Registration | null
> {
  readonly name = 'oidc' as const;
  private readonly logger = new Logger(OidcRegistrationStrategy.name);

  constructor(
    private readonly registrations: RegistrationsService,
    @InjectDataSource() private readonly dataSource: DataSource,
  ) {}

  start(input: { email?: string }): Promise<OidcRegistrationParams> {
    return Promise.resolve({ action: 'register', ...(input.email !== undefined ? { email: input.email } : {}) });
  }

  async complete(back: OidcRegistrationReturn, origin: EventOrigin = {}): Promise<Registration | null> {
    if (await isKnownMember(this.dataSource, back.member, back.sessionId)) {
      this.logger.log('intent=register for a member already known here: a login, no registration recorded');
      return null;
    }
    return this.registrations.create(
      { strategy: this.name, status: 'completed', sub: back.member.sub, mydexid: back.member.mydexid, returnTo: back.returnTo },
      origin,
    );
  }
}
