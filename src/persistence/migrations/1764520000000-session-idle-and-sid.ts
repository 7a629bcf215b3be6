import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Sessions get `last_seen_at` (the idle timeout, SESSION_IDLE_SECONDS) and `sid` (the ID token's
 * session id at Mydex, which back-channel logout names). Existing sessions count as last seen when
 * they were created.
 */
export class SessionIdleAndSid1764520000000 implements MigrationInterface {
  name = 'SessionIdleAndSid1764520000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.addColumns('sessions', [
      new TableColumn({ name: 'last_seen_at', type: t.timestamp, isNullable: true }),
      new TableColumn({ name: 'sid', type: 'varchar', length: '255', isNullable: true }),
    ]);
    await queryRunner.query('UPDATE "sessions" SET "last_seen_at" = "created_at"');
    await queryRunner.createIndex('sessions', new TableIndex({ name: 'idx_sessions_sid', columnNames: ['issuer', 'sid'] }));
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('sessions', 'idx_sessions_sid');
    await queryRunner.dropColumn('sessions', 'sid');
    await queryRunner.dropColumn('sessions', 'last_seen_at');
  }
}
