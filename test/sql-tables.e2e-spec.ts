import { DataSource, type EntityTarget } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OidcTransaction, OIDC_TRANSACTIONS } from '../src/auth/oidc/oidc-transaction.entity.js';
import { Connection, CONNECTION_EVENTS, ConnectionEvent, CONNECTIONS } from '../src/connection/connection.entity.js';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { Registration, REGISTRATIONS } from '../src/registration/registration.entity.js';
import { Invitation, INVITATIONS } from '../src/registration/strategies/invitation/invitation.entity.js';
import type { SqlTable } from '../src/persistence/sql-table.js';
import { MemberSession, SESSIONS } from '../src/session/member-session.entity.js';
import { WEBHOOK_OUTBOX } from '../src/webhooks/webhook-outbox.table.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';

/** Columns the migrations keep that no code maps: `registrations.email`, plaintext of rows from before sealing (rotate-data-key seals them). */
const UNMAPPED: Record<string, string[]> = { registrations: ['email'] };

/** Every table the hand SQL writes, with its entity where it has one (webhook_outbox has none). */
const TABLES: [SqlTable<unknown>, EntityTarget<unknown> | null][] = [
  [REGISTRATIONS as SqlTable<unknown>, Registration],
  [INVITATIONS as SqlTable<unknown>, Invitation],
  [CONNECTIONS as SqlTable<unknown>, Connection],
  [CONNECTION_EVENTS as SqlTable<unknown>, ConnectionEvent],
  [SESSIONS as SqlTable<unknown>, MemberSession],
  [OIDC_TRANSACTIONS as SqlTable<unknown>, OidcTransaction],
  [WEBHOOK_OUTBOX as SqlTable<unknown>, null],
];

/** The column maps (sql-table.ts) against what the migrations made and what TypeORM maps: SQL, entity and schema cannot drift. */
describe.each(ENGINES)('the column maps on %s', (engine) => {
  let target: DatabaseTarget;
  let db: DataSource;
  beforeAll(async () => {
    target = await freshDatabase(engine);
    db = new DataSource(
      dataSourceOptions(target.url, [Connection, ConnectionEvent, MemberSession, OidcTransaction, Registration, Invitation]),
    );
    await db.initialize();
    await db.runMigrations();
  });
  afterAll(async () => {
    await db?.destroy();
    await target?.drop();
  });

  it.each(TABLES.map(([table, entity]) => [table.name, table, entity] as const))(
    '%s: the map names exactly the columns the migrations made',
    async (_name, table) => {
      const runner = db.createQueryRunner();
      try {
        const made = await runner.getTable(table.name);
        expect(made, `table ${table.name}`).toBeDefined();
        const unmapped = UNMAPPED[table.name] ?? [];
        expect(Object.values(table.columns as Record<string, string>).sort()).toEqual(
          made!.columns
            .map((column) => column.name)
            .filter((name) => !unmapped.includes(name))
            .sort(),
        );
      } finally {
        await runner.release();
      }
    },
  );

  it.each(TABLES.filter(([, entity]) => entity !== null).map(([table, entity]) => [table.name, table, entity!] as const))(
    "%s: the entity maps every property to the map's column",
    (_name, table, entity) => {
      const metadata = db.getMetadata(entity);
      expect(metadata.tableName).toBe(table.name);
      expect(Object.fromEntries(metadata.columns.map((column) => [column.propertyName, column.databaseName]))).toEqual(table.columns);
    },
  );
});
