import { Global, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { webhookConfig } from '../config/webhook.config.js';
import { WebhookEventRelay } from './webhook-event-relay.js';
import { WebhookMetrics } from './webhook-metrics.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { TransactionalEvents } from './transactional-events.js';
import { WebhookWorker } from './webhook-worker.js';

/**
 * Outbound webhooks to the integrator's backend (Standard Webhooks signing, a transactional outbox,
 * at-least-once delivery from any instance; docs/operations.md, "Webhooks"). Global so a feature
 * injects WebhookOutbox and enqueues in its own transaction without importing this module. Off
 * (nothing written, no polling) unless WEBHOOK_URL is set.
 */
@Global()
@Module({
  imports: [ConfigModule.forFeature(webhookConfig)],
  providers: [WebhookOutbox, WebhookWorker, WebhookMetrics, WebhookEventRelay, TransactionalEvents],
  exports: [WebhookOutbox, TransactionalEvents],
})
export class WebhooksModule {}
