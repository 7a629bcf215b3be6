import { HttpAdapterHost } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { MetricsService } from './metrics.service.js';
import { RegistrationMetrics } from './registration-metrics.js';

const at = { occurredAt: '2026-01-01T00:00:00.000Z' };

describe('RegistrationMetrics', () => {
  it('counts bff_registrations_total from the registration events with the outcomes the registration code counted', async () => {
    const metrics = new MetricsService(new HttpAdapterHost());
    const subscriber = new RegistrationMetrics(metrics);
    subscriber.started({ ...at, registrationId: 'r1', strategy: 'own_form', mydexid: 'alice', client: 'web', expiresAt: null });
    subscriber.completed({ ...at, registrationId: 'r1', strategy: 'own_form', mydexid: 'alice', sub: null });
    subscriber.completed({ ...at, registrationId: 'r2', strategy: 'oidc', mydexid: 'bob', sub: 's' });
    subscriber.failed({ ...at, registrationId: null, strategy: 'own_form', mydexid: 'carol', status: 'refused', reason: 'mydexid_taken' });
    subscriber.failed({ ...at, registrationId: null, strategy: 'own_form', mydexid: 'dave', status: 'refused', reason: 'error' });
    subscriber.failed({ ...at, registrationId: 'r3', strategy: 'own_form', mydexid: 'erin', status: 'expired', reason: 'expired' });
    subscriber.failed({
      ...at,
      registrationId: 'r4',
      strategy: 'own_form',
      mydexid: 'fred',
      status: 'failed',
      reason: 'some_failure_code',
    });
    const counted = (await metrics.registrations.get()).values.map(({ labels, value }) => `${labels.strategy}/${labels.outcome}=${value}`);
    expect(counted.sort()).toEqual([
      'oidc/completed=1',
      'own_form/awaiting_private_key=1',
      'own_form/completed=1',
      'own_form/error=1',
      'own_form/expired=1',
      'own_form/failed=1',
      'own_form/mydexid_taken=1',
    ]);
  });
});
