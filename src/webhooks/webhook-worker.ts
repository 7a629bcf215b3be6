import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type { DataSource } from 'typeorm';
import { webhookConfig, type WebhookSettings } from '../config/webhook.config.js';
import { PeriodicPurge } from '../persistence/periodic-purge.js';
import { deleteInBatches, PreparedQuery } from '../persistence/prepared-query.js';
import { dateColumn } from '../persistence/sql-engine.js';
import { selectColumns, type ReadRow } from '../persistence/sql-table.js';
import { webhookHeaders } from './signature.js';
import { WEBHOOK_OUTBOX, WEBHOOK_OUTBOX_COLUMNS, type WebhookOutboxRow } from './webhook-outbox.table.js';
import { WebhookMetrics } from './webhook-metrics.js';

const W = WEBHOOK_OUTBOX.c;
const CLAIMED_KEYS = ['id', 'eventType', 'payload', 'createdAt', 'attempts'] as const;
type ClaimedRow = ReadRow<Pick<WebhookOutboxRow, (typeof CLAIMED_KEYS)[number]>>;

/** Rows claimed per statement; a full batch is followed at once by the next. */
export const CLAIM_BATCH = 10;
/** At most this often per instance, delivered rows older than WEBHOOK_RETENTION_DAYS are deleted. */
const PURGE_EVERY_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;
/** Each retry delay is scaled by a random factor in [1 - JITTER, 1 + JITTER], so retries of many rows spread out. */
const JITTER = 0.2;

/** What became of one attempt. */
type Attempt =
  | { ok: true }
  | { ok: false; outcome: 'http_4xx' | 'http_5xx' | 'http_other' | 'timeout' | 'network'; error: string }
  | { ok: false; outcome: 'shutdown' };

/**
 * Delivers the outbox (webhook_outbox), at least once, from any number of instances on one database.
 *
 * Each pass claims up to CLAIM_BATCH due rows in one conditional UPDATE that sets `claimed_until`
 * (a lease of twice WEBHOOK_TIMEOUT_MS) and counts the attempt: on PostgreSQL the rows are picked
 * `FOR UPDATE SKIP LOCKED`, on SQLite the statement holds the database's write lock, so two
 * instances never claim the same row while its lease runs. A row whose instance died mid-delivery
 * (kill -9, a lost container) becomes due again when its lease expires. Each claimed row is POSTed
 * with the Standard Webhooks headers; a 2xx marks it delivered, anything else (another status, a
 * timeout, a refused connection) schedules the next attempt by WEBHOOK_RETRY_SCHEDULE with jitter,
 * until WEBHOOK_RETRY_FOR_SECONDS after the event was written, when the row is marked failed and
 * kept for the operator.
 *
 * A pass runs when the outbox wakes it (after a commit that wrote a row), when a retry this
 * instance scheduled is due, and every WEBHOOK_POLL_INTERVAL_MS (others' rows, expired leases).
 */
@Injectable()
export class WebhookWorker implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger('Webhooks');
  private readonly claim: PreparedQuery<ClaimedRow>;
  private readonly markDelivered: PreparedQuery<never>;
  private readonly markRetry: PreparedQuery<never>;
  private readonly markFailed: PreparedQuery<never>;
  private readonly pendingByType: PreparedQuery<{ eventType: string; n: number | string }>;
  private readonly purge: PeriodicPurge;
  private started = false;
  private stopped = false;
  private readonly shutdown = new AbortController();
  private timer?: NodeJS.Timeout;
  private timerAt = Number.POSITIVE_INFINITY;
  /** The pass in progress, awaited on shutdown. */
  private running?: Promise<void>;
  private again = false;
  private lastPollError = 0;

  constructor(
    @Inject(webhookConfig.KEY) private readonly settings: WebhookSettings,
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly metrics: WebhookMetrics,
  ) {
    const postgres = dataSource.options.type === 'postgres';
    const table = WEBHOOK_OUTBOX.ref;
    const claimable = `${W.deliveredAt} IS NULL AND ${W.failedAt} IS NULL AND (${W.claimedUntil} IS NULL OR ${W.claimedUntil} <= $2)`;
    this.claim = new PreparedQuery(
      dataSource,
      `UPDATE ${table} SET ${W.claimedUntil} = $1, ${W.attempts} = ${W.attempts} + 1 ` +
        `WHERE ${W.id} IN (SELECT ${W.id} FROM ${table} WHERE ${claimable} AND ${W.nextAttemptAt} <= $2 ORDER BY ${W.nextAttemptAt} LIMIT $3${postgres ? ' FOR UPDATE SKIP LOCKED' : ''}) ` +
        `AND ${claimable} RETURNING ${selectColumns(WEBHOOK_OUTBOX, CLAIMED_KEYS)}`,
    );
    // Only while this instance's lease holds (another instance may have reclaimed an expired one).
    this.markDelivered = new PreparedQuery(
      dataSource,
      `UPDATE ${table} SET ${W.deliveredAt} = $1, ${W.claimedUntil} = NULL WHERE ${W.id} = $2 AND ${W.deliveredAt} IS NULL`,
    );
    this.markRetry = new PreparedQuery(
      dataSource,
      `UPDATE ${table} SET ${W.nextAttemptAt} = $1, ${W.lastError} = $2, ${W.claimedUntil} = NULL WHERE ${W.id} = $3 AND ${W.claimedUntil} = $4 AND ${W.deliveredAt} IS NULL`,
    );
    this.markFailed = new PreparedQuery(
      dataSource,
      `UPDATE ${table} SET ${W.failedAt} = $1, ${W.lastError} = $2, ${W.claimedUntil} = NULL WHERE ${W.id} = $3 AND ${W.claimedUntil} = $4 AND ${W.deliveredAt} IS NULL`,
    );
    this.pendingByType = new PreparedQuery(
      dataSource,
      `SELECT ${selectColumns(WEBHOOK_OUTBOX, ['eventType'])}, COUNT(*) AS "n" FROM ${table} WHERE ${W.deliveredAt} IS NULL AND ${W.failedAt} IS NULL GROUP BY ${W.eventType}`,
    );
    // Delivered rows, and failed ones as long after they failed (the operator has had the warning, the
    // metric and that long to look): the outbox does not grow without end while a receiver is gone.
    this.purge = new PeriodicPurge('delivered and failed webhooks', PURGE_EVERY_MS, async (now) => {
      const cutoff = [new Date(now - this.settings.retentionDays * DAY_MS)];
      const purge = (column: string) =>
        deleteInBatches(this.dataSource, WEBHOOK_OUTBOX.name, WEBHOOK_OUTBOX_COLUMNS.id, `${column} < $1`, cutoff);
      return (await purge(W.deliveredAt)) + (await purge(W.failedAt));
    });
    if (settings.enabled) {
      metrics.usePendingCount(async () => new Map((await this.pendingByType.all([])).map((row) => [row.eventType, Number(row.n)])));
    }
  }

  onApplicationBootstrap(): void {
    if (!this.settings.enabled) return;
    this.started = true;
    this.schedule(0);
  }

  /**
   * Stops before the database closes: no new pass, in-flight requests aborted and their rows left
   * claimed (another instance, or this one restarted, delivers them when the lease expires), the
   * current pass awaited.
   */
  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.shutdown.abort();
    await this.running;
  }

  /** A row was committed: look for due rows now (or right after the pass in progress). */
  wake(): void {
    this.schedule(0);
  }

  private schedule(delayMs: number): void {
    if (!this.started || this.stopped) return;
    const at = Date.now() + delayMs;
    if (at >= this.timerAt) return;
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timerAt = Number.POSITIVE_INFINITY;
      this.run();
    }, delayMs);
    this.timer.unref();
  }

  private run(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.passes().finally(() => {
      this.running = undefined;
      // A wake that came after the last pass looked is not lost.
      this.schedule(this.again ? 0 : this.settings.pollIntervalMs);
    });
  }

  private async passes(): Promise<void> {
    do {
      this.again = false;
      let claimed = 0;
      try {
        claimed = await this.pass();
      } catch (error) {
        // The database is unreachable or busy: the next poll tries again. Logged at most once a minute.
        if (Date.now() - this.lastPollError > 60_000) {
          this.lastPollError = Date.now();
          this.logger.warn(`webhook outbox poll failed: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
      if (claimed === CLAIM_BATCH) this.again = true;
    } while (this.again && !this.stopped);
  }

  /** Claims due rows and delivers them concurrently; answers how many were claimed. */
  private async pass(): Promise<number> {
    const now = Date.now();
    const lease = new Date(now + 2 * this.settings.timeoutMs);
    const rows = await this.claim.all([lease, new Date(now), CLAIM_BATCH]);
    if (rows.length === 0) return 0;
    await Promise.all(
      rows.map((row) =>
        // A write that fails (the database went away) leaves the row claimed: it is retried when the lease expires.
        this.deliver(row, lease).catch((error: unknown) => {
          this.logger.warn(
            `webhook ${row.id} (${row.eventType}): recording the attempt failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        }),
      ),
    );
    if (this.settings.retentionDays > 0) this.purge.maybeRun();
    return rows.length;
  }

  private async deliver(row: ClaimedRow, lease: Date): Promise<void> {
    const attempts = Number(row.attempts);
    const type = row.eventType;
    this.metrics.sawType(type);
    const result = await this.attempt(row);
    if (!result.ok && result.outcome === 'shutdown') return;
    this.metrics.attempts.inc({ type, outcome: result.ok ? 'ok' : result.outcome });
    const now = Date.now();
    if (result.ok) {
      await this.markDelivered.run([new Date(now), row.id]);
      this.metrics.delivered.inc({ type });
      return;
    }
    const schedule = this.settings.retryScheduleMs;
    const delay = Math.round(schedule[Math.min(attempts, schedule.length) - 1] * (1 - JITTER + 2 * JITTER * Math.random()));
    const next = now + delay;
    if (next > dateColumn(row.createdAt).getTime() + this.settings.retryForMs) {
      const changed = await this.markFailed.run([new Date(now), result.error, row.id, lease]);
      if (changed > 0) {
        this.metrics.failed.inc({ type });
        this.logger.warn(
          `webhook ${row.id} (${type}) FAILED after ${attempts} attempts over the retry period; last: ${result.error}. Kept in webhook_outbox for the operator`,
        );
      }
      return;
    }
    // Not ours any more (the lease expired and another instance reclaimed it): that one decides.
    if ((await this.markRetry.run([new Date(next), result.error, row.id, lease])) === 0) return;
    this.logger.warn(
      `webhook ${row.id} (${type}) attempt ${attempts} failed: ${result.error}; next attempt in ${Math.ceil(delay / 1000)} s`,
    );
    this.schedule(delay);
  }

  /** One POST. The error text is ours (status, timeout, an errno code): never the URL, a header or a body. */
  private async attempt(row: ClaimedRow): Promise<Attempt> {
    const timeout = AbortSignal.timeout(this.settings.timeoutMs);
    try {
      const response = await fetch(this.settings.url!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'mydex-bff-webhooks/1',
          ...webhookHeaders(this.settings.key!, row.id, row.payload),
        },
        body: row.payload,
        redirect: 'manual',
        signal: AbortSignal.any([timeout, this.shutdown.signal]),
      });
      await response.body?.cancel().catch(() => undefined);
      if (response.status >= 200 && response.status < 300) return { ok: true };
      const outcome = response.status >= 500 ? 'http_5xx' : response.status >= 400 ? 'http_4xx' : 'http_other';
      return { ok: false, outcome, error: `HTTP ${response.status}` };
    } catch (error) {
      if (this.shutdown.signal.aborted) return { ok: false, outcome: 'shutdown' };
      if (timeout.aborted) return { ok: false, outcome: 'timeout', error: `timeout after ${this.settings.timeoutMs} ms` };
      const cause = (error as { cause?: { code?: unknown } }).cause;
      const code = typeof cause?.code === 'string' && /^[A-Z0-9_]{1,40}$/.test(cause.code) ? cause.code : 'connection failed';
      return { ok: false, outcome: 'network', error: `network: ${code}` };
    }
  }
}
