import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/** Registrations from both strategies. Never a password column. */
export class Registrations1764480000000 implements MigrationInterface {
  name = 'Registrations1764480000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'registrations',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'strategy', type: 'varchar', length: '16' },
          { name: 'status', type: 'varchar', length: '32' },
          { name: 'mydexid', type: 'varchar', length: '60', isNullable: true },
          { name: 'email', type: 'varchar', length: '254', isNullable: true },
          { name: 'sub', type: 'varchar', length: '128', isNullable: true },
          { name: 'return_to', type: 'text', isNullable: true },
          { name: 'failure_code', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: t.timestamp },
          { name: 'updated_at', type: t.timestamp },
          { name: 'completed_at', type: t.timestamp, isNullable: true },
          { name: 'expires_at', type: t.timestamp, isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex(
      'registrations',
      new TableIndex({ name: 'idx_registrations_status_created', columnNames: ['status', 'created_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('registrations');
  }
}
