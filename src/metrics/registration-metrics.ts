import { Injectable } from '@nestjs/common';
import { OnEvent } from '@nestjs/event-emitter';
import type { RegistrationCompletedEvent, RegistrationFailedEvent, RegistrationStartedEvent } from '../events/domain-events.js';
import { MetricsService } from './metrics.service.js';

/**
 * `bff_registrations_total{strategy,outcome}` from the registration events, so the registration code
 * only publishes facts. The outcome is the registration's status (`awaiting_private_key` when started,
 * `completed`, `failed`, `expired`), or for a submission Mydex refused the problem code (or `error`).
 */
@Injectable()
export class RegistrationMetrics {
  constructor(private readonly metrics: MetricsService) {}

  @OnEvent('registration.started')
  started(event: RegistrationStartedEvent): void {
    this.metrics.registrations.inc({ strategy: event.strategy, outcome: 'awaiting_private_key' });
  }

  @OnEvent('registration.completed')
  completed(event: RegistrationCompletedEvent): void {
    this.metrics.registrations.inc({ strategy: event.strategy, outcome: 'completed' });
  }

  @OnEvent('registration.failed')
  failed(event: RegistrationFailedEvent): void {
    this.metrics.registrations.inc({ strategy: event.strategy, outcome: event.status === 'refused' ? event.reason : event.status });
  }
}
