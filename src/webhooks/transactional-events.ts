import { Injectable } from '@nestjs/common';
import { DomainEventPublisher, publishedEvent } from '../events/domain-event.publisher.js';
import type { DomainEventInput, DomainEventName } from '../events/domain-events.js';
import type { Statement } from '../persistence/sql-engine.js';
import { WebhookOutbox } from './webhook-outbox.js';

/** A domain event prepared with its change: its webhook row to write in the change's transaction, then `committed()`. */
export interface PreparedEvent {
  /** The webhook row (none when webhooks are off or the type is filtered out). */
  statements: Statement[];
  /** After the commit: wakes the webhook worker and publishes the domain event. */
  committed(): void;
}

/**
 * The transactional outbox for a producer that writes its change as statements (SqlEngine): the
 * webhook row commits (or rolls back) with the change, so a crash after the commit cannot lose it,
 * and the in-process domain event is published once the change is written, as before
 * (docs/decisions.md, "Webhooks: a transactional outbox…"). The webhook's `data` is the event as
 * published.
 */
@Injectable()
export class TransactionalEvents {
  constructor(
    private readonly outbox: WebhookOutbox,
    private readonly publisher: DomainEventPublisher,
  ) {}

  prepare<N extends DomainEventName>(name: N, payload: DomainEventInput<N>): PreparedEvent {
    const event = publishedEvent(payload);
    const webhook = this.outbox.statementFor({ type: name, data: { ...event } });
    return {
      statements: webhook ? [webhook.statement] : [],
      committed: () => {
        webhook?.committed();
        this.publisher.publish(name, event as DomainEventInput<N>);
      },
    };
  }
}
