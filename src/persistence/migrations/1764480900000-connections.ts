import { Table, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';
import { columnTypes } from './column-types.js';

/**
 * Connections (one row per member connection, upserted on connection_id) and connection_events (every
 * callback and notification received). The member key is stored only encrypted (AES-256-GCM: key id,
 * IV, tag, ciphertext); connection_events never holds it.
 */
export class Connections1764480900000 implements MigrationInterface {
  name = 'Connections1764480900000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const t = columnTypes(queryRunner);
    await queryRunner.createTable(
      new Table({
        name: 'connections',
        columns: [
          { name: 'connection_id', type: 'varchar', length: '80', isPrimary: true },
          { name: 'uid', type: 'integer' },
          { name: 'mydexid', type: 'varchar', length: '60' },
          // MydexIDs are unique whatever the letter case: members are found by the lowercase form.
          { name: 'mydexid_lower', type: 'varchar', length: '60' },
          { name: 'key_id', type: 'varchar', length: '32' },
          { name: 'key_iv', type: 'varchar', length: '32' },
          { name: 'key_tag', type: 'varchar', length: '32' },
          { name: 'key_ciphertext', type: 'text' },
          { name: 'permissions_raw', type: t.json },
          { name: 'permissions', type: t.json },
          { name: 'version', type: 'integer' },
          { name: 'linking_token', type: 'varchar', length: '255', isNullable: true },
          { name: 'last_method', type: 'varchar', length: '8' },
          { name: 'created_at', type: t.timestamp },
          { name: 'updated_at', type: t.timestamp },
        ],
      }),
    );
    await queryRunner.createIndex('connections', new TableIndex({ name: 'idx_connections_mydexid_lower', columnNames: ['mydexid_lower'] }));
    await queryRunner.createIndex('connections', new TableIndex({ name: 'idx_connections_key_id', columnNames: ['key_id'] }));

    await queryRunner.createTable(
      new Table({
        name: 'connection_events',
        columns: [
          { name: 'id', type: 'integer', isPrimary: true, isGenerated: true, generationStrategy: 'increment' },
          { name: 'kind', type: 'varchar', length: '16' },
          { name: 'method', type: 'varchar', length: '8' },
          { name: 'connection_id', type: 'varchar', length: '80', isNullable: true },
          { name: 'uid', type: 'integer', isNullable: true },
          { name: 'content_type', type: 'varchar', length: '8' },
          { name: 'request_id', type: 'varchar', length: '128' },
          // The delivery as received, without the member key.
          { name: 'payload', type: t.json },
          { name: 'received_at', type: t.timestamp },
        ],
      }),
    );
    await queryRunner.createIndex(
      'connection_events',
      new TableIndex({ name: 'idx_connection_events_connection', columnNames: ['connection_id', 'received_at'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropTable('connection_events');
    await queryRunner.dropTable('connections');
  }
}
