import { TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/** The retention purge finds old connection_events by received_at alone (CONNECTION_EVENTS_RETENTION_DAYS). */
export class ConnectionEventsReceivedAt1764493200000 implements MigrationInterface {
  name = 'ConnectionEventsReceivedAt1764493200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.createIndex(
      'connection_events',
      new TableIndex({ name: 'idx_connection_events_received_at', columnNames: ['received_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('connection_events', 'idx_connection_events_received_at');
  }
}
