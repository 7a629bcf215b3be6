import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { PreparedQuery } from '../src/persistence/prepared-query.js';
import { dateColumn } from '../src/persistence/sql-engine.js';
import { Registration } from '../src/registration/registration.entity.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';

describe.each(ENGINES)('persistence on %s', (engine) => {
  let target: DatabaseTarget;
  let db: DataSource;
  beforeAll(async () => {
    target = await freshDatabase(engine);
    db = new DataSource(dataSourceOptions(target.url, [Registration]));
    await db.initialize();
  });
  afterAll(async () => {
    await db?.destroy();
    await target?.drop();
  });

  it('runs every migration on an empty database, and a second run finds nothing to do', async () => {
    const applied = await db.runMigrations();
    expect(applied.length).toBeGreaterThan(0);
    expect(await db.runMigrations()).toEqual([]);
    expect(await db.showMigrations()).toBe(false);
  });

  it('round-trips a registration with its timestamps to the millisecond', async () => {
    const createdAt = new Date('2026-11-30T05:06:07.089Z');
    await db.getRepository(Registration).insert({
      id: '00000000-0000-4000-8000-000000000001',
      strategy: 'own_form',
      status: 'awaiting_private_key',
      mydexid: 'alice1',
      emailSealed: null,
      sub: null,
      returnTo: null,
      failureCode: null,
      createdAt,
      updatedAt: createdAt,
      completedAt: null,
      expiresAt: null,
    });
    const row = await db.getRepository(Registration).findOneByOrFail({ id: '00000000-0000-4000-8000-000000000001' });
    expect(row.createdAt.toISOString()).toBe(createdAt.toISOString());
    expect(row.mydexid).toBe('alice1');
  });

  it('reads through a prepared statement what TypeORM wrote: dates to the millisecond, nulls, a placeholder used twice', async () => {
    const createdAt = new Date('2026-11-30T23:59:58.765Z');
    await db.getRepository(Registration).insert({
      id: '00000000-0000-4000-8000-000000000002',
      strategy: 'oidc',
      status: 'completed',
      mydexid: 'Bob2',
      emailSealed: 'b@example.org',
      sub: null,
      returnTo: null,
      failureCode: null,
      createdAt,
      updatedAt: createdAt,
      completedAt: null,
      expiresAt: null,
    });
    const query = new PreparedQuery<{ id: string; sub: string | null; created_at: unknown }>(
      db,
      'SELECT "id", "sub", "created_at" FROM "registrations" WHERE "mydexid" = $1 AND ("email_sealed" = $2 OR "mydexid" = $2) AND "created_at" <= $3',
    );
    for (let i = 0; i < 3; i++) {
      // Repeated runs reuse the prepared statement (per connection on PostgreSQL).
      const [row, ...others] = await query.all(['Bob2', 'b@example.org', new Date('2026-12-01T00:00:00Z')]);
      expect(others).toEqual([]);
      expect(row?.id).toBe('00000000-0000-4000-8000-000000000002');
      expect(row?.sub).toBeNull();
      expect(dateColumn(row?.created_at).toISOString()).toBe(createdAt.toISOString());
    }
    expect(await query.first(['Bob2', 'b@example.org', new Date('2026-11-30T23:59:58.000Z')])).toBeUndefined();
    expect(await query.first(['bob2', 'b@example.org', createdAt])).toBeUndefined();
  });

  if (engine === 'sqlite') {
    it('uses WAL journal mode', async () => {
      const [mode] = await db.query('PRAGMA journal_mode');
      expect(mode.journal_mode).toBe('wal');
    });
  }
});
