import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { randomUUID } from 'node:crypto';
import { appConfig } from '../../../config/app.config.js';
import { mydexConfig } from '../../../config/mydex.config.js';
import { MydexClient } from '../../../mydex/mydex.client.js';
import type { RegistrationDetails } from '../../../validation/registration-rules.js';
import { RegistrationsService, type NewRegistration } from '../../registrations.service.js';
import type { CreatedRegistrationDto } from './own-form-registration.dto.js';
import { ProblemException } from '../../../common/problem/problem.exception.js';
import { DomainEventPublisher } from '../../../events/domain-event.publisher.js';
import type { EventOrigin } from '../../../events/domain-events.js';
import { newOpaqueToken, sha256Hex } from '../../../session/session-token.js';
import type { Registration, RegistrationClient } from '../../registration.entity.js';
import type { RegistrationStrategy, RegistrationStrategyName } from '../../registration-strategy.js';
import { RegistrationStrategyFor } from '../../registration-strategies.js';
import { registrationReturnPath } from '../../../common/http/routes.js';

/**
 * How long a registration waits for the member to finish Mydex's Private Key form. Mydex does not say
 * how long its form link lives [I]; after this the status reads `expired`, but a later return still completes it.
 */
export const PRIVATE_KEY_WINDOW_MS = 24 * 60 * 60 * 1000;

/** What the frontend posted, checked against the registration rules, and where the member lands. */
export interface OwnFormStart {
  details: RegistrationDetails;
  returnTo: string;
  client: RegistrationClient;
  /**
   * A strategy that feeds this path (invitation): the name its row and events carry, and the write
   * that commits with the row (RegistrationsService, NewRegistration.alongside). Default: own_form, alone.
   */
  recordAs?: { strategy: RegistrationStrategyName; alongside: NewRegistration['alongside'] };
}

/**
 * Registration through our own form (Mydex's PDX "Scenario 1"): details already validated go to Mydex
 * through MydexClient; the answer is recorded as a Registration and the browser is sent to Mydex's
 * Private Key form, which brings it back to `/v1/registrations/{id}/return`.
 */
@Injectable()
@RegistrationStrategyFor('own_form')
export class OwnFormRegistrationStrategy implements RegistrationStrategy<
  OwnFormStart,
  Required<CreatedRegistrationDto>,
  Registration,
  Registration
> {
  readonly name = 'own_form' as const;

  constructor(
    private readonly mydex: MydexClient,
    private readonly registrations: RegistrationsService,
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
    @Inject(mydexConfig.KEY) private readonly mydexSettings: ConfigType<typeof mydexConfig>,
    private readonly events: DomainEventPublisher,
  ) {}

  /** The longest one registration can take at Mydex (four calls at most), for idempotency leases. */
  get maxDurationMs(): number {
    return 4 * this.mydexSettings.timeoutMs + 5_000;
  }

  /**
   * `returnTo` is the landing target, already checked against the allowlist. The answer carries the
   * new binding secret for every client: the controller hands it to a web client as a cookie and to a
   * native app in the body. Only its SHA-256 is stored. Publishes `registration.started` (through
   * RegistrationsService) or, when Mydex refuses, `registration.failed` with nothing recorded.
   */
  async start({ details, returnTo, client, recordAs }: OwnFormStart, origin: EventOrigin = {}): Promise<Required<CreatedRegistrationDto>> {
    // The id is allocated first because Mydex's return_to must carry it; the row is written only once
    // Mydex has accepted, so failed attempts leave no personal data behind.
    const id = randomUUID();
    const registrationSecret = newOpaqueToken();
    const { privateKeyUrl } = await this.mydex
      .registerMember({ mydexid: details.mydexid, email: details.email, password: details.password, returnTo: this.mydexReturnUrl(id) })
      .catch((error: unknown) => {
        this.events.publish('registration.failed', {
          registrationId: null,
          strategy: recordAs?.strategy ?? this.name,
          mydexid: details.mydexid,
          status: 'refused',
          reason: error instanceof ProblemException ? error.code : 'error',
          requestId: origin.requestId,
        });
        throw error;
      });
    await this.registrations.create(
      {
        id,
        strategy: recordAs?.strategy ?? this.name,
        status: 'awaiting_private_key',
        mydexid: details.mydexid,
        email: details.email,
        returnTo,
        expiresAt: new Date(Date.now() + PRIVATE_KEY_WINDOW_MS),
        binding: { hash: sha256Hex(registrationSecret), client },
        alongside: recordAs?.alongside,
      },
      origin,
    );
    return { registrationId: id, status: 'awaiting_private_key', privateKeyUrl, registrationSecret };
  }

  /**
   * The bound client is back from Mydex's Private Key form. Reaching return_to is Mydex's only signal
   * that the form succeeded [I]. A registration no longer awaiting the form is answered as it is.
   */
  async complete(registration: Registration, origin: EventOrigin = {}): Promise<Registration> {
    if (registration.status !== 'awaiting_private_key') return registration;
    return (await this.registrations.finish(registration.id, 'completed', undefined, origin)) ?? registration;
  }

  /** Where Mydex sends the browser after the Private Key form. Mydex appends nothing to it [I]: the id is in the path. */
  mydexReturnUrl(id: string): string {
    return `${this.app.publicBaseUrl}${registrationReturnPath(id)}`;
  }
}
