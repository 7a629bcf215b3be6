import { Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';
import { DomainEventPublisher } from './domain-event.publisher.js';
import { DOMAIN_EVENT_NAMES, type DomainEventName, type DomainEventPayloads } from './domain-events.js';

const NOTIFICATION = { connectionId: '587-4567', uid: 587, dataset: 'ds_events', action: 'create', updatedId: '7' } as const;

describe('DomainEventPublisher', () => {
  afterEach(() => vi.restoreAllMocks());
  const setup = () => {
    const emitter = new EventEmitter2();
    const warn = vi.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    return { emitter, warn, publisher: new DomainEventPublisher(emitter) };
  };

  it('names every event of the payload map once', () => {
    expect(new Set(DOMAIN_EVENT_NAMES).size).toBe(9);
    expectTypeOf<DomainEventName>().toEqualTypeOf<keyof DomainEventPayloads>();
  });

  it('hands every listener the same frozen payload, with occurredAt and without an undefined requestId', () => {
    const { emitter, publisher } = setup();
    const seen: unknown[] = [];
    emitter.on('connection.notification', (event: unknown) => seen.push(event));
    emitter.onAny((name: unknown, event: unknown) => seen.push([name, event]));
    publisher.publish('connection.notification', { ...NOTIFICATION, requestId: undefined });
    // onAny listeners first, as EventEmitter2's emit calls them.
    const [[name, anyEvent], event] = seen as [[string, unknown], Record<string, unknown>];
    expect(name).toBe('connection.notification');
    expect(anyEvent).toBe(event);
    expect(event).toEqual({ ...NOTIFICATION, occurredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) });
    expect('requestId' in event).toBe(false);
    expect(Object.isFrozen(event)).toBe(true);
    expect(() => {
      event.uid = 1;
    }).toThrow(TypeError);
  });

  it('keeps a given occurredAt and requestId', () => {
    const { emitter, publisher } = setup();
    const seen: unknown[] = [];
    emitter.on('connection.notification', (event: unknown) => seen.push(event));
    publisher.publish('connection.notification', { ...NOTIFICATION, occurredAt: '2026-01-02T03:04:05.000Z', requestId: 'r-1' });
    expect(seen).toEqual([{ ...NOTIFICATION, occurredAt: '2026-01-02T03:04:05.000Z', requestId: 'r-1' }]);
  });

  it('a listener that throws at once neither throws to the publisher nor stops the listeners after it; it is logged at warn', () => {
    const { emitter, warn, publisher } = setup();
    const after = vi.fn();
    emitter.on('member.logged_out', () => {
      throw new Error('subscriber broke');
    });
    emitter.on('member.logged_out', after);
    expect(() =>
      publisher.publish('member.logged_out', {
        reason: 'logout',
        issuer: 'i',
        sub: 's',
        mydexid: null,
        sessionId: 'x',
        sid: null,
        sessionsEnded: 1,
        requestId: 'r-2',
      }),
    ).not.toThrow();
    expect(after).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      { event: 'member.logged_out', requestId: 'r-2', reason: 'Error: subscriber broke' },
      expect.stringContaining('subscriber failed'),
    );
  });

  it('a listener whose promise rejects is caught and logged at warn (no unhandled rejection)', async () => {
    const { emitter, warn, publisher } = setup();
    const unhandled = vi.fn();
    process.on('unhandledRejection', unhandled);
    try {
      emitter.on('registration.failed', async () => {
        await Promise.resolve();
        throw new Error('later');
      });
      publisher.publish('registration.failed', {
        registrationId: null,
        strategy: 'own_form',
        mydexid: 'alice',
        status: 'refused',
        reason: 'mydexid_taken',
      });
      await new Promise((resolve) => setImmediate(resolve));
      expect(warn).toHaveBeenCalledWith({ event: 'registration.failed', requestId: undefined, reason: 'Error: later' }, expect.any(String));
      expect(unhandled).not.toHaveBeenCalled();
    } finally {
      process.off('unhandledRejection', unhandled);
    }
  });

  it('a once listener is called once', () => {
    const { emitter, publisher } = setup();
    const once = vi.fn();
    emitter.once('connection.notification', once);
    publisher.publish('connection.notification', NOTIFICATION);
    publisher.publish('connection.notification', NOTIFICATION);
    expect(once).toHaveBeenCalledTimes(1);
  });

  it('publishes with no listener at all', () => {
    const { publisher, warn } = setup();
    expect(() => publisher.publish('connection.notification', NOTIFICATION)).not.toThrow();
    expect(warn).not.toHaveBeenCalled();
  });
});
