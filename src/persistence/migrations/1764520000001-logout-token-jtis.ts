import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Back-channel logout tokens already used: the SHA-256 of issuer and `jti`, kept until the token
 * expires, so a replayed token is refused (OpenID Connect Back-Channel Logout 1.0, 2.6).
 */
export class LogoutTokenJtis1764520000001 implements MigrationInterface {
  name = 'LogoutTokenJtis1764520000001';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'logout_token_jtis',
        columns: [
          { name: 'jti_hash', type: 'varchar', length: '64', isPrimary: true },
          { name: 'received_at', type: t.timestamp },
          { name: 'expires_at', type: t.timestamp },
        ],
      }),
    );
    await queryRunner.createIndex(
      'logout_token_jtis',
      new TableIndex({ name: 'idx_logout_token_jtis_expires', columnNames: ['expires_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('logout_token_jtis');
  }
}
