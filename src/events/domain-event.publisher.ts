import { Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import type { DomainEventInput, DomainEventName, DomainEventPayloads } from './domain-events.js';

type Listener = (this: unknown, ...args: unknown[]) => unknown;

/**
 * Publishes the domain events (domain-events.ts) to the app's EventEmitter2 listeners, where `@OnEvent`
 * subscribers are. Called once the change is written; it never throws and never waits for a
 * subscriber, so a subscriber cannot change what the request answers:
 *
 * - each listener runs at once, in the request, up to its first `await` (keep subscribers quick and
 *   hand slow work to a queue);
 * - each is called on its own: one that throws, at once or later (a rejected promise), neither stops
 *   the others nor reaches the request; its error is logged here at warn with the event name and
 *   request id. (EventEmitter2's own emit would stop at a listener that throws, and leave the
 *   others' rejections unhandled.) An `@OnEvent` subscriber's error only gets here with
 *   `suppressErrors: false`; by default Nest logs it at error level itself and swallows it;
 * - `@OnEvent(…, { async: true, suppressErrors: false })` must not be used: EventEmitter2 then runs
 *   the subscriber detached (setImmediate), and its error is an unhandled rejection, which stops the
 *   process (src/common/logging/log-output.ts).
 *
 * The payload is frozen: every subscriber sees what was published.
 */
@Injectable()
export class DomainEventPublisher {
  private readonly logger = new Logger('DomainEvents');

  constructor(private readonly emitter: EventEmitter2) {}

  publish<N extends DomainEventName>(name: N, payload: DomainEventInput<N>): void {
    const event = publishedEvent(payload);
    // As EventEmitter2's emit calls them: onAny listeners with the name first, then the event's own
    // (a copy of the list: a `once` listener removes itself when called).
    const any = this.emitter.listenersAny() as Listener[];
    const own = this.emitter.listeners(name) as Listener[];
    for (const listener of any.slice()) this.call(listener, [name, event], name, event);
    for (const listener of own.slice()) this.call(listener, [event], name, event);
  }

  private call(listener: Listener, args: unknown[], name: DomainEventName, event: { requestId?: string }): void {
    try {
      (this.emitter as { event?: unknown }).event = name;
      const result = listener.apply(this.emitter, args);
      if (isThenable(result)) result.then(undefined, (error: unknown) => this.subscriberFailed(name, event, error));
    } catch (error) {
      this.subscriberFailed(name, event, error);
    }
  }

  private subscriberFailed(name: DomainEventName, event: { requestId?: string }, error: unknown): void {
    // The error's own text only: a subscriber's error object may hold anything it was handed.
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    this.logger.warn({ event: name, requestId: event.requestId, reason }, 'a domain event subscriber failed; the request went on');
  }
}

/**
 * The event as it is published (and as a webhook's `data` carries it): `occurredAt` now unless given,
 * no `requestId` key without one, frozen.
 */
export function publishedEvent<N extends DomainEventName>(payload: DomainEventInput<N>): DomainEventPayloads[N] {
  const copy: Record<string, unknown> = { ...payload, occurredAt: payload.occurredAt ?? new Date().toISOString() };
  if (copy.requestId === undefined) delete copy.requestId;
  return Object.freeze(copy) as unknown as DomainEventPayloads[N];
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
  );
}
