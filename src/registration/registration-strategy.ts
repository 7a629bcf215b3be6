import type { EventOrigin } from '../events/domain-events.js';

/**
 * The ways to register, named once: the `registrations.strategy` column's type, the DTO and
 * OpenAPI enums and the domain events derive from this list. A third strategy starts here
 * (docs/extending.md).
 */
export const REGISTRATION_STRATEGIES = ['oidc', 'own_form', 'invitation'] as const;

export type RegistrationStrategyName = (typeof REGISTRATION_STRATEGIES)[number];

/**
 * A way to register a member for a MydexID and PDS. `start` takes what the client sent and answers
 * the client's next step (for own-form: Mydex's Private Key form); `complete` records the outcome
 * when the member comes back (own-form: the return from that form; OIDC: the callback of a member
 * new to the BFF). Both publish the registration domain events through RegistrationsService.
 */
export interface RegistrationStrategy<StartInput = unknown, NextStep = unknown, Completion = unknown, Completed = unknown> {
  readonly name: RegistrationStrategyName;
  start(input: StartInput, origin?: EventOrigin): Promise<NextStep>;
  complete(completion: Completion, origin?: EventOrigin): Promise<Completed>;
}
