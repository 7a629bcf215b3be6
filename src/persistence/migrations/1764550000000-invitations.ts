import { Table, TableCheck, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Invitations to register (the `invitation` strategy, src/registration/strategies/invitation): the
 * SHA-256 of the single-use link token, the sealed email, the expiry, and once used, when and by
 * which registration. A CHECK keeps `uses` at 0 or 1.
 */
export class Invitations1764550000000 implements MigrationInterface {
  name = 'Invitations1764550000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'invitations',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'token_hash', type: 'varchar', length: '64' },
          { name: 'email_sealed', type: 'text' },
          { name: 'created_at', type: t.timestamp },
          { name: 'expires_at', type: t.timestamp },
          // Raised by the registration that uses it, in the transaction that writes that registration's row.
          { name: 'uses', type: 'integer', default: 0 },
          { name: 'used_at', type: t.timestamp, isNullable: true },
          { name: 'registration_id', type: 'varchar', length: '36', isNullable: true },
        ],
        // Single use, kept by the database: a second use fails its transaction, whatever raced it.
        checks: [new TableCheck({ name: 'chk_invitations_used_once', expression: '"uses" <= 1' })],
      }),
    );
    // Every read is by the token's hash.
    await queryRunner.createIndex(
      'invitations',
      new TableIndex({ name: 'idx_invitations_token_hash', columnNames: ['token_hash'], isUnique: true }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('invitations');
  }
}
