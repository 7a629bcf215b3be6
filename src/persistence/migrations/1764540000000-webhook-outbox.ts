import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * The outbox of outbound webhooks (src/webhooks): one row per event, written in the transaction of
 * the change it reports, delivered (at least once) by whichever instance claims it. `claimed_until`
 * is the lease of the instance delivering it; `delivered_at` or `failed_at` ends it.
 */
export class WebhookOutbox1764540000000 implements MigrationInterface {
  name = 'WebhookOutbox1764540000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'webhook_outbox',
        columns: [
          // The `webhook-id` header: the same on every attempt, so receivers deduplicate on it.
          { name: 'id', type: 'varchar', length: '64', isPrimary: true },
          { name: 'event_type', type: 'varchar', length: '100' },
          // The request body exactly as signed and sent, on every attempt.
          { name: 'payload', type: t.json },
          { name: 'created_at', type: t.timestamp },
          { name: 'attempts', type: 'integer', default: 0 },
          { name: 'next_attempt_at', type: t.timestamp },
          { name: 'claimed_until', type: t.timestamp, isNullable: true },
          { name: 'delivered_at', type: t.timestamp, isNullable: true },
          { name: 'failed_at', type: t.timestamp, isNullable: true },
          // "HTTP 503", "timeout after 10000 ms", "network: ECONNREFUSED": never the URL, a header or the body.
          { name: 'last_error', type: 'varchar', length: '200', isNullable: true },
        ],
      }),
    );
    // The workers' poll: due rows not yet delivered or failed, oldest due first.
    await queryRunner.createIndex(
      'webhook_outbox',
      new TableIndex({
        name: 'idx_webhook_outbox_due',
        columnNames: ['next_attempt_at'],
        where: '"delivered_at" IS NULL AND "failed_at" IS NULL',
      }),
    );
    // The purge of delivered rows.
    await queryRunner.createIndex(
      'webhook_outbox',
      new TableIndex({ name: 'idx_webhook_outbox_delivered', columnNames: ['delivered_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('webhook_outbox');
  }
}
