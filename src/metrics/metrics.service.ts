import { Injectable, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { CONNECTION_CALLBACK } from '../common/http/routes.js';

/**
 * Prometheus metrics. HTTP requests are measured by one Fastify hook (route pattern, not the raw
 * URL, so ids don't explode the label space); features count their own outcomes through the
 * counters here. Meanings: docs/operations.md.
 */

function callbackOutcome(status: number): string {
  if (status === 200) return 'stored';
  if (status === 401) return 'unauthenticated';
  if (status === 403) return 'source_not_allowed';
  if (status === 400 || status === 422) return 'invalid';
  return `http_${status}`;
}

@Injectable()
export class MetricsService implements OnModuleInit {
  readonly registry = new Registry();

  readonly httpDuration = new Histogram({
    name: 'bff_http_request_duration_seconds',
    help: 'HTTP requests by method, route pattern and status, with latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });

  readonly registrations = new Counter({
    name: 'bff_registrations_total',
    help: 'Registrations by strategy (oidc, own_form) and outcome',
    labelNames: ['strategy', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly callbacks = new Counter({
    name: 'bff_connection_callbacks_total',
    help: 'Mydex connection callbacks by method and outcome',
    labelNames: ['method', 'outcome'] as const,
    registers: [this.registry],
  });

  /** What became of each authenticated delivery to the callback (docs/connections.md); reason for quarantined and refused ones. */
  readonly connectionDeliveries = new Counter({
    name: 'bff_connection_deliveries_total',
    help: 'Authenticated callback deliveries by status (applied, duplicate, quarantined, refused, received) and reason',
    labelNames: ['status', 'reason'] as const,
    registers: [this.registry],
  });

  /** Format surprises in applied or quarantined deliveries (connection_id not {uid}-{nid}, MydexID off our rules…). */
  readonly connectionDeliveryAnomalies = new Counter({
    name: 'bff_connection_delivery_anomalies_total',
    help: 'Callback deliveries kept despite a format surprise, by anomaly',
    labelNames: ['anomaly'] as const,
    registers: [this.registry],
  });

  readonly upstreamDuration = new Histogram({
    name: 'bff_upstream_request_duration_seconds',
    help: 'Calls to Mydex by endpoint and outcome (ok or an error code)',
    labelNames: ['endpoint', 'outcome'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  /** 409 `mydexid_taken`/`email_taken` answers to own-form registrations (the enumeration signal; docs/security.md). */
  readonly registrationConflicts = new Counter({
    name: 'bff_registration_conflicts_total',
    help: 'Own-form registrations answered 409 because Mydex says the MydexID or email is in use, by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly registrationLimited = new Counter({
    name: 'bff_registration_limited_total',
    help: 'Own-form registrations refused 429 by an enumeration budget (conflicts_per_ip, global)',
    labelNames: ['budget'] as const,
    registers: [this.registry],
  });

  readonly registrationGlobalLimitTripped = new Counter({
    name: 'bff_registration_global_limit_tripped_total',
    help: 'Times the global registration budget (REGISTRATION_GLOBAL_LIMIT) was spent',
    registers: [this.registry],
  });

  readonly registrationChallenges = new Counter({
    name: 'bff_registration_challenges_total',
    help: 'Human checks on own-form registration by provider and outcome (passed, failed, missing, unavailable)',
    labelNames: ['provider', 'outcome'] as const,
    registers: [this.registry],
  });

  constructor(private readonly adapterHost: HttpAdapterHost) {
    collectDefaultMetrics({ register: this.registry, prefix: 'bff_' });
  }

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onResponse', (request, reply, done) => {
      const route = request.routeOptions.url ?? 'unmatched';
      this.httpDuration.observe({ method: request.method, route, status: String(reply.statusCode) }, reply.elapsedTime / 1000);
      // Mydex's callbacks are counted here, where refusals by the guard and the body parser are seen too.
      if (route === CONNECTION_CALLBACK.path) this.callbacks.inc({ method: request.method, outcome: callbackOutcome(reply.statusCode) });
      done();
    });
  }

  async render(): Promise<string> {
    return this.registry.metrics();
  }
}
