import { TableColumn, TableIndex, type MigrationInterface, type QueryRunner } from 'typeorm';

/**
 * Binds an own-form registration to the client that created it (docs/security.md, "Registration
 * return bound to its client"): only the SHA-256 of the client's secret (the web cookie's value or the
 * native app's `registrationSecret`) and which kind of client holds it. Rows from before have none,
 * and no client can complete them through the return any more.
 */
export class RegistrationBinding1764510000000 implements MigrationInterface {
  name = 'RegistrationBinding1764510000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.addColumns('registrations', [
      new TableColumn({ name: 'binding_hash', type: 'varchar', length: '64', isNullable: true }),
      new TableColumn({ name: 'binding_client', type: 'varchar', length: '16', isNullable: true }),
    ]);
    await queryRunner.createIndex(
      'registrations',
      new TableIndex({ name: 'idx_registrations_binding_hash', columnNames: ['binding_hash'] }),
    );
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.dropIndex('registrations', 'idx_registrations_binding_hash');
    await queryRunner.dropColumns('registrations', ['binding_hash', 'binding_client']);
  }
}
