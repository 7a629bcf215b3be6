import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { DOMAIN_EVENT_NAMES, type DomainEventName } from '../events/domain-events.js';
import { WebhookOutbox } from './webhook-outbox.js';

/**
 * Domain events whose webhook row is written by their producer inside the change's own transaction
 * (ConnectionsService: a callback delivery's rows; RegistrationsService: the registration row; most
 * through TransactionalEvents). The relay leaves them alone, so each is sent once.
 */
export const TRANSACTIONAL_WEBHOOK_EVENTS: readonly DomainEventName[] = [
  'connection.established',
  'connection.updated',
  'connection.notification',
  'connection.quarantined',
  'registration.started',
  'registration.completed',
  'member.logged_out',
];

/**
 * Events the relay writes only in some cases, the others' rows being written with their change:
 * `registration.failed` when nothing was recorded (Mydex refused the submission: no change, so no
 * transaction to join; a recorded registration's failure is written by RegistrationsService with the
 * row); `member.logged_in` of a web `intent=register` callback, whose session stands only once the
 * registration strategy has recorded the registration in its own write (OidcDelegateService writes
 * the other logins' rows with their session).
 */
const RELAYED_WHEN: Partial<Record<DomainEventName, (event: Record<string, unknown>) => boolean>> = {
  'registration.failed': (event) => event.registrationId === null,
  'member.logged_in': (event) => event.intent === 'register' && event.client === 'web',
};

/** The domain events the relay turns into webhooks once they are published (after their change is written). */
export const RELAYED_WEBHOOK_EVENTS: readonly DomainEventName[] = DOMAIN_EVENT_NAMES.filter(
  (name) => !TRANSACTIONAL_WEBHOOK_EVENTS.includes(name),
);

/**
 * Every other domain event becomes a webhook of the same name with the event's payload as `data`
 * (payloads carry ids and facts only: src/events/domain-events.ts; the outbox's guard refuses
 * secret-like keys). These rows are written right after the change commits, not inside its
 * transaction: an instance that dies between the two loses that webhook (docs/operations.md,
 * "Webhooks"). Off (nothing written) unless WEBHOOK_URL is set; WEBHOOK_EVENTS filters.
 */
@Injectable()
export class WebhookEventRelay implements OnModuleInit {
  private readonly logger = new Logger('Webhooks');

  constructor(
    private readonly emitter: EventEmitter2,
    private readonly outbox: WebhookOutbox,
    private readonly dataSource: DataSource,
  ) {}

  onModuleInit(): void {
    // Only the types that would be written: with webhooks off (or filtered out) publishing costs nothing here.
    for (const name of RELAYED_WEBHOOK_EVENTS.filter((type) => this.outbox.accepts(type))) {
      const when = RELAYED_WHEN[name] ?? (() => true);
      this.emitter.on(
        name,
        (event: Record<string, unknown>) =>
          // Caught here, whoever emits the event: an outbox write that fails never becomes an unhandled rejection.
          when(event) &&
          this.outbox.enqueue(this.dataSource.manager, { type: name, data: { ...event } }).catch((error: unknown) => {
            this.logger.warn(`webhook ${name} not written: ${error instanceof Error ? error.message : String(error)}`);
          }),
      );
    }
  }
}
