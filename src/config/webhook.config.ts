import { registerAs } from '@nestjs/config';
import { splitList, validateEnvironment, webhookKey } from './environment.js';

/** Standard delays before the 2nd, 3rd… delivery attempt, in seconds; the last repeats until WEBHOOK_RETRY_FOR_SECONDS. */
export const DEFAULT_RETRY_SCHEDULE_SECONDS = [5, 30, 120, 600, 3600, 7200, 14400, 28800] as const;

/** Outbound webhooks (src/webhooks; docs/operations.md, "Webhooks"). */
export const webhookConfig = registerAs('webhook', () => {
  const env = validateEnvironment(process.env);
  const schedule = splitList(env.WEBHOOK_RETRY_SCHEDULE).map(Number);
  return {
    /** Whether events are written to the outbox and delivered: WEBHOOK_URL (and WEBHOOK_SECRET, validated with it) set. */
    enabled: env.WEBHOOK_URL !== undefined,
    url: env.WEBHOOK_URL,
    /** The HMAC key: the base64-decoded part of WEBHOOK_SECRET. Never logged. */
    key: env.WEBHOOK_SECRET === undefined ? undefined : webhookKey(env.WEBHOOK_SECRET),
    /** WEBHOOK_EVENTS: exact types and `prefix.*` patterns; empty sends every type. */
    events: splitList(env.WEBHOOK_EVENTS),
    timeoutMs: env.WEBHOOK_TIMEOUT_MS,
    retryScheduleMs: (schedule.length > 0 ? schedule : [...DEFAULT_RETRY_SCHEDULE_SECONDS]).map((seconds) => Math.round(seconds * 1000)),
    retryForMs: env.WEBHOOK_RETRY_FOR_SECONDS * 1000,
    pollIntervalMs: env.WEBHOOK_POLL_INTERVAL_MS,
    retentionDays: env.WEBHOOK_RETENTION_DAYS,
    production: env.NODE_ENV === 'production',
  };
});

export type WebhookSettings = ReturnType<typeof webhookConfig>;
