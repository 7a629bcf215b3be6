import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * An OIDC `intent=register` callback asks whether the member is already known (a completed
 * registration with this `sub`, or with this MydexID in any letter case: see
 * src/registration/strategies/oidc/known-member.ts). These indexes keep that a lookup
 * rather than a scan of every registration. The SQL is the same on SQLite and PostgreSQL.
 */
export class RegistrationsMemberLookup1764530000000 implements MigrationInterface {
  name = 'RegistrationsMemberLookup1764530000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE INDEX "idx_registrations_sub" ON "registrations" ("sub")');
    await queryRunner.query('CREATE INDEX "idx_registrations_mydexid_lower" ON "registrations" (LOWER("mydexid"))');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP INDEX "idx_registrations_mydexid_lower"');
    await queryRunner.query('DROP INDEX "idx_registrations_sub"');
  }
}
