import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * OIDC transactions: one row per authorization request, single use, 10 minutes. Secrets are stored
 * as SHA-256 hashes (state, nonce, browser binding, exchange secret and code); only the PKCE verifier
 * is kept in clear until the callback consumes it, because the token endpoint needs it.
 */
export class OidcTransactions1764480700000 implements MigrationInterface {
  name = 'OidcTransactions1764480700000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'oidc_transactions',
        columns: [
          { name: 'id', type: 'varchar', length: '36', isPrimary: true },
          { name: 'state_hash', type: 'varchar', length: '64', isUnique: true },
          { name: 'nonce_hash', type: 'varchar', length: '64' },
          { name: 'code_verifier', type: 'varchar', length: '128', isNullable: true },
          { name: 'intent', type: 'varchar', length: '16' },
          { name: 'client', type: 'varchar', length: '16' },
          { name: 'return_to', type: 'text', isNullable: true },
          { name: 'app_redirect_uri', type: 'text', isNullable: true },
          { name: 'browser_binding_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'exchange_secret_hash', type: 'varchar', length: '64', isNullable: true },
          { name: 'created_at', type: t.timestamp },
          { name: 'expires_at', type: t.timestamp },
          { name: 'consumed_at', type: t.timestamp, isNullable: true },
          // Native clients: the member the callback authenticated, waiting for the app's exchange.
          { name: 'exchange_code_hash', type: 'varchar', length: '64', isNullable: true, isUnique: true },
          { name: 'exchange_expires_at', type: t.timestamp, isNullable: true },
          { name: 'exchanged_at', type: t.timestamp, isNullable: true },
          { name: 'member_issuer', type: 'varchar', length: '255', isNullable: true },
          { name: 'member_sub', type: 'varchar', length: '128', isNullable: true },
          { name: 'member_mydexid', type: 'varchar', length: '60', isNullable: true },
          { name: 'id_token', type: 'text', isNullable: true },
        ],
      }),
    );
    await queryRunner.createIndex(
      'oidc_transactions',
      new TableIndex({ name: 'idx_oidc_transactions_expires', columnNames: ['expires_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('oidc_transactions');
  }
}
