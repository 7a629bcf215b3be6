import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Callback deliveries are never lost and never silently applied against the member's binding
 * (docs/connections.md, docs/security.md "Forged and replayed connection callbacks"):
 *
 * - `connection_events` gets a `status` (applied, duplicate, quarantined, refused, received,
 *   dropped), the `reason` of a quarantine or refusal, the `anomalies` of an applied delivery and
 *   `resolved_at` (operator apply/drop). Earlier rows were applied deliveries or notifications.
 * - `connections` gets `fingerprints` (replay detection) and `superseded_at`; a member has at most one
 *   live row: unique indexes on the live rows' `mydexid_lower` and `uid`. Duplicates from before
 *   (the forged second connection this fixes) are marked superseded, the earliest row staying live.
 * - `registrations.email_sealed`: the email sealed with the data key ring. The plaintext `email`
 *   column stays only for rows written before; `npm run rotate-data-key` seals them and empties it.
 *
 * Payloads and `fields` written before stay plaintext JSON until `npm run rotate-data-key` seals them
 * (a migration has no data key); the readers accept both.
 */
export class CallbackQuarantineAndSealing1764500000000 implements MigrationInterface {
  name = 'CallbackQuarantineAndSealing1764500000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.addColumns('connection_events', [
      new TableColumn({ name: 'status', type: 'varchar', length: '16', default: "'applied'" }),
      new TableColumn({ name: 'reason', type: 'varchar', length: '32', isNullable: true }),
      new TableColumn({ name: 'anomalies', type: 'varchar', length: '512', isNullable: true }),
      new TableColumn({ name: 'resolved_at', type: t.timestamp, isNullable: true }),
    ]);
    await queryRunner.query(`UPDATE "connection_events" SET "status" = 'received' WHERE "kind" = 'notification'`);
    await queryRunner.createIndex(
      'connection_events',
      new TableIndex({ name: 'idx_connection_events_status', columnNames: ['status', 'id'] }),
    );
    await queryRunner.createIndex(
      'connection_events',
      new TableIndex({ name: 'idx_connection_events_uid', columnNames: ['uid', 'received_at'] }),
    );

    await queryRunner.addColumns('connections', [
      new TableColumn({ name: 'fingerprints', type: 'text', isNullable: true }),
      new TableColumn({ name: 'superseded_at', type: t.timestamp, isNullable: true }),
    ]);
    // The earliest row of a MydexID stays live; later ones (a second uid for the same MydexID) are
    // superseded. Then the same by uid among the rows still live. Each later row has the earliest one
    // as its witness, so the result does not depend on the order rows are updated in.
    const earlier = (column: string, liveOnly: boolean) =>
      `UPDATE "connections" SET "superseded_at" = CURRENT_TIMESTAMP WHERE "superseded_at" IS NULL AND EXISTS (` +
      `SELECT 1 FROM "connections" "o" WHERE "o"."${column}" = "connections"."${column}"${liveOnly ? ' AND "o"."superseded_at" IS NULL' : ''} AND ` +
      `("o"."created_at" < "connections"."created_at" OR ("o"."created_at" = "connections"."created_at" AND "o"."connection_id" < "connections"."connection_id")))`;
    await queryRunner.query(earlier('mydexid_lower', false));
    await queryRunner.query(earlier('uid', true));
    await queryRunner.query(
      'CREATE UNIQUE INDEX "uq_connections_live_mydexid" ON "connections" ("mydexid_lower") WHERE "superseded_at" IS NULL',
    );
    await queryRunner.query('CREATE UNIQUE INDEX "uq_connections_live_uid" ON "connections" ("uid") WHERE "superseded_at" IS NULL');

    await queryRunner.addColumn('registrations', new TableColumn({ name: 'email_sealed', type: 'text', isNullable: true }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropColumn('registrations', 'email_sealed');
    await queryRunner.query('DROP INDEX "uq_connections_live_uid"');
    await queryRunner.query('DROP INDEX "uq_connections_live_mydexid"');
    await queryRunner.dropColumns('connections', ['fingerprints', 'superseded_at']);
    await queryRunner.dropIndex('connection_events', 'idx_connection_events_uid');
    await queryRunner.dropIndex('connection_events', 'idx_connection_events_status');
    await queryRunner.dropColumns('connection_events', ['status', 'reason', 'anomalies', 'resolved_at']);
  }
}
