import { Injectable } from '@nestjs/common';
import { Counter, Gauge } from 'prom-client';
import { MetricsService } from '../metrics/metrics.service.js';

/** The webhooks' metrics, on the BFF's registry (GET /metrics; docs/operations.md, "Webhooks"). */
@Injectable()
export class WebhookMetrics {
  readonly delivered: Counter<'type'>;
  readonly failed: Counter<'type'>;
  readonly attempts: Counter<'type' | 'outcome'>;
  readonly pending: Gauge<'type'>;
  /** Set by the worker: answers the pending rows per event type (read at each scrape). */
  private countPending?: () => Promise<Map<string, number>>;
  private readonly typesSeen = new Set<string>();

  constructor(metrics: MetricsService) {
    const registers = [metrics.registry];
    this.delivered = new Counter({
      name: 'bff_webhooks_delivered_total',
      help: 'Webhooks delivered (a 2xx answer), by event type',
      labelNames: ['type'] as const,
      registers,
    });
    this.failed = new Counter({
      name: 'bff_webhooks_failed_total',
      help: 'Webhooks given up on after WEBHOOK_RETRY_FOR_SECONDS of failed attempts, by event type',
      labelNames: ['type'] as const,
      registers,
    });
    this.attempts = new Counter({
      name: 'bff_webhook_attempts_total',
      help: 'Webhook delivery attempts by event type and outcome (ok, http_4xx, http_5xx, timeout, network)',
      labelNames: ['type', 'outcome'] as const,
      registers,
    });
    const refresh = (gauge: Gauge<'type'>) => this.refreshPending(gauge);
    this.pending = new Gauge({
      name: 'bff_webhooks_pending',
      help: 'Webhooks in the outbox not yet delivered nor failed (this database, all instances), by event type',
      labelNames: ['type'] as const,
      registers,
      async collect() {
        await refresh(this);
      },
    });
  }

  /** A type this instance handled: the gauge shows it (0 once drained) even if no scrape saw it pending. */
  sawType(type: string): void {
    this.typesSeen.add(type);
  }

  usePendingCount(count: () => Promise<Map<string, number>>): void {
    this.countPending = count;
  }

  private async refreshPending(gauge: Gauge<'type'>): Promise<void> {
    if (!this.countPending) return;
    try {
      const counts = await this.countPending();
      for (const type of counts.keys()) this.typesSeen.add(type);
      // A type that drained shows 0 rather than vanishing.
      for (const type of this.typesSeen) gauge.set({ type }, counts.get(type) ?? 0);
    } catch {
      // The database is unreachable: the last values stay; the health check says why.
    }
  }
}
