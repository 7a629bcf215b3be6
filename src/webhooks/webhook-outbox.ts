import { randomUUID } from 'node:crypto';
import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import type {
  DataSource,
  EntityManager,
  EntitySubscriberInterface,
  QueryRunner,
  TransactionCommitEvent,
  TransactionRollbackEvent,
} from 'typeorm';
import { webhookConfig, type WebhookSettings } from '../config/webhook.config.js';
import { SqlEngine, type Statement } from '../persistence/sql-engine.js';
import { insertStatement } from '../persistence/sql-table.js';
import { eventSelectedBy } from '../events/domain-events.js';
import { SecretInWebhookPayloadError, secretLikeKeys } from './payload-guard.js';
import { WEBHOOK_OUTBOX } from './webhook-outbox.table.js';
import { WebhookWorker } from './webhook-worker.js';

/** An event for integrators: `connection.established`, with ids and states only (payload-guard.ts). */
export interface WebhookEvent {
  type: string;
  data: Record<string, unknown>;
}

/** Lowercase dotted names: `connection.established`, `registration.completed`. */
const EVENT_TYPE = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

/**
 * The transactional outbox of outbound webhooks. A producer calls `enqueue` with the EntityManager
 * of the transaction that makes the change: the row commits (or rolls back) with it, so an event is
 * sent if and only if its change happened. After the commit the local worker is woken; other
 * instances find the row when they poll. Delivery: WebhookWorker.
 */
@Injectable()
export class WebhookOutbox implements EntitySubscriberInterface {
  private readonly logger = new Logger('Webhooks');
  /** Transactions that wrote a row: their commit wakes the worker. */
  private readonly awaitingCommit = new WeakSet<QueryRunner>();

  constructor(
    @Inject(webhookConfig.KEY) private readonly settings: WebhookSettings,
    @InjectDataSource() dataSource: DataSource,
    private readonly worker: WebhookWorker,
  ) {
    // Told of every commit and rollback on the BFF's data source (TypeORM's subscriber API).
    if (settings.enabled) dataSource.subscribers.push(this);
  }

  /** Whether events of this type are written at all: the feature is on and WEBHOOK_EVENTS lets it through. */
  accepts(type: string): boolean {
    if (!this.settings.enabled) return false;
    const filter = this.settings.events;
    return filter.length === 0 || filter.some((entry) => eventSelectedBy(entry, type));
  }

  /**
   * Writes the event's row in the caller's transaction (`manager` of `dataSource.transaction(…)`;
   * outside one, the row is written at once). Answers the webhook id, or null when nothing was
   * written: the feature is off, the type is filtered out, or (in production only) the payload was
   * refused. A payload with keys named like a secret or an email, or a malformed type, throws in
   * development and tests (a producer's bug); in production it is logged and not sent, so the
   * member's change still commits.
   */
  async enqueue(manager: EntityManager, event: WebhookEvent): Promise<string | null> {
    const row = this.row(event);
    if (!row) return null;
    const [sql, values] = SqlEngine.of(manager.connection).forEntityManager(row.statement);
    await manager.query(sql, values);
    const runner = manager.queryRunner;
    if (runner?.isTransactionActive) this.awaitingCommit.add(runner);
    else this.worker.wake();
    return row.id;
  }

  /**
   * The same row as a statement, for code that writes its transaction as a list of statements
   * (SqlEngine's `transaction` or `writeAtomically`): add it to the list, then call `committed()` once
   * the transaction has committed. Null when nothing is to be written (as enqueue).
   */
  statementFor(event: WebhookEvent): { id: string; statement: Statement; committed: () => void } | null {
    const row = this.row(event);
    return row && { ...row, committed: () => this.worker.wake() };
  }

  private row(event: WebhookEvent): { id: string; statement: Statement } | null {
    if (!this.accepts(event.type)) return null;
    const refusal = this.refusal(event);
    if (refusal) {
      if (!this.settings.production) throw refusal;
      this.logger.error(refusal.message);
      return null;
    }
    const id = `msg_${randomUUID().replaceAll('-', '')}`;
    const now = new Date();
    const body = JSON.stringify({ type: event.type, timestamp: now.toISOString(), data: event.data });
    return {
      id,
      statement: insertStatement(WEBHOOK_OUTBOX, {
        id,
        eventType: event.type,
        payload: body,
        createdAt: now,
        nextAttemptAt: now,
        attempts: 0,
      }),
    };
  }

  afterTransactionCommit(event: TransactionCommitEvent): void {
    // A savepoint's release is not the commit: wait for the outermost transaction.
    if (event.queryRunner.isTransactionActive || !this.awaitingCommit.has(event.queryRunner)) return;
    this.awaitingCommit.delete(event.queryRunner);
    this.worker.wake();
  }

  afterTransactionRollback(event: TransactionRollbackEvent): void {
    if (!event.queryRunner.isTransactionActive) this.awaitingCommit.delete(event.queryRunner);
  }

  private refusal(event: WebhookEvent): Error | undefined {
    if (event.type.length > 100 || !EVENT_TYPE.test(event.type)) {
      return new Error(
        `webhook type ${JSON.stringify(event.type.slice(0, 100))} refused: use a lowercase dotted name such as connection.established`,
      );
    }
    const paths = secretLikeKeys(event.data);
    return paths.length > 0 ? new SecretInWebhookPayloadError(event.type, paths) : undefined;
  }
}
