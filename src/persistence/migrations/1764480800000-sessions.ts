import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/** Member sessions (web cookie and native bearer). Only a SHA-256 of the session id is stored. */
export class Sessions1764480800000 implements MigrationInterface {
  name = 'Sessions1764480800000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'sessions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'token_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'client', type: 'varchar', length: '16' },
          { name: 'issuer', type: 'varchar', length: '255' },
          { name: 'sub', type: 'varchar', length: '128' },
          { name: 'mydexid', type: 'varchar', length: '60', isNullable: true },
          // Kept for the logout id_token_hint.
          { name: 'id_token', type: 'text', isNullable: true },
          { name: 'created_at', type: t.timestamp },
          { name: 'expires_at', type: t.timestamp },
          { name: 'revoked_at', type: t.timestamp, isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex('sessions', new TableIndex({ name: 'idx_sessions_member', columnNames: ['issuer', 'sub'] }));
    await queryRunner.createIndex('sessions', new TableIndex({ name: 'idx_sessions_expires', columnNames: ['expires_at'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('sessions');
  }
}
