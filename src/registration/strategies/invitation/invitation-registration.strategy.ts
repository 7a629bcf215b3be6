import { Injectable } from '@nestjs/common';
import type { EventOrigin } from '../../../events/domain-events.js';
import type { Registration } from '../../registration.entity.js';
import { RegistrationStrategyFor } from '../../registration-strategies.js';
import type { RegistrationStrategy } from '../../registration-strategy.js';
import type { CreatedRegistrationDto } from '../own-form/own-form-registration.dto.js';
import { OwnFormRegistrationStrategy, type OwnFormStart } from '../own-form/own-form-registration.strategy.js';
import { InvitationsService } from './invitations.service.js';

/** The own form's start, through the invitation whose link token the frontend holds. */
export interface InvitationStart extends Omit<OwnFormStart, 'recordAs'> {
  token: string;
}

/**
 * Registration through an invitation link: the member's own form, pre-filled with the invited email,
 * submitted through the invitation. It runs the own-form path unchanged (Mydex submission, Private
 * Key form link, client binding, return) and records the registration as `invitation`, spending the
 * invitation in the same transaction as the registration's row, so a link registers once.
 */
@Injectable()
@RegistrationStrategyFor('invitation')
export class InvitationRegistrationStrategy implements RegistrationStrategy<
  InvitationStart,
  Required<CreatedRegistrationDto>,
  Registration,
  Registration
> {
  readonly name = 'invitation' as const;

  constructor(
    private readonly invitations: InvitationsService,
    private readonly ownForm: OwnFormRegistrationStrategy,
  ) {}

  /**
   * Refuses a token that cannot be used before Mydex is called; one used meanwhile by a concurrent
   * request is refused when the row is written (InvitationsService.spend), and nothing is recorded.
   * An invitation that expires while Mydex answers still registers: it was valid when submitted.
   */
  async start({ token, ...form }: InvitationStart, origin: EventOrigin = {}): Promise<Required<CreatedRegistrationDto>> {
    const invitation = await this.invitations.findUsable(token);
    if (invitation === null) throw InvitationsService.notFound();
    return this.ownForm
      .start(
        {
          ...form,
          recordAs: { strategy: this.name, alongside: (registrationId) => this.invitations.spend(invitation.id, registrationId) },
        },
        origin,
      )
      .catch((error: unknown) => {
        throw InvitationsService.isSecondUse(error) ? InvitationsService.notFound() : error;
      });
  }

  /** The return from the Private Key form, as for the own form (the return routes complete every bound registration alike). */
  complete(registration: Registration, origin: EventOrigin = {}): Promise<Registration> {
    return this.ownForm.complete(registration, origin);
  }
}
