import { sqlTable, type ColumnMap } from '../persistence/sql-table.js';

/** A row of `webhook_outbox`. No TypeORM entity: only the outbox and its worker write and read it, by hand SQL. */
export interface WebhookOutboxRow {
  /** The `webhook-id` header, the same on every attempt. */
  id: string;
  eventType: string;
  /** The request body exactly as signed and sent. */
  payload: string;
  createdAt: Date;
  attempts: number;
  nextAttemptAt: Date;
  /** The lease of the instance delivering it. */
  claimedUntil: Date | null;
  deliveredAt: Date | null;
  failedAt: Date | null;
  lastError: string | null;
}

/** The `webhook_outbox` columns, per property (sql-table.ts); the migration made them. */
export const WEBHOOK_OUTBOX_COLUMNS = {
  id: 'id',
  eventType: 'event_type',
  payload: 'payload',
  createdAt: 'created_at',
  attempts: 'attempts',
  nextAttemptAt: 'next_attempt_at',
  claimedUntil: 'claimed_until',
  deliveredAt: 'delivered_at',
  failedAt: 'failed_at',
  lastError: 'last_error',
} as const satisfies ColumnMap<WebhookOutboxRow>;

export const WEBHOOK_OUTBOX = sqlTable<WebhookOutboxRow>('webhook_outbox', WEBHOOK_OUTBOX_COLUMNS);
