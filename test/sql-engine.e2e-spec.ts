import { Column, DataSource, Entity, PrimaryColumn } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { dateColumn, SqlEngine } from '../src/persistence/sql-engine.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';

/** A table of its own, written by TypeORM and by the adapter, so each can read what the other wrote. */
@Entity({ name: 'engine_probe' })
class Probe {
  @PrimaryColumn({ type: 'varchar', length: 36 })
  id!: string;

  @Column({ type: 'varchar', length: 60, nullable: true })
  label!: string | null;

  @Column({ type: Boolean })
  flag!: boolean;

  @Column({ type: Date })
  at!: Date;
}

const INSERT = 'INSERT INTO "engine_probe" ("id", "label", "flag", "at") VALUES ($1, $2, $3, $4)';
const AT = new Date('2026-11-30T23:59:58.765Z');

/** The contract of SqlEngine, the one adapter over TypeORM's driver internals: the same cases on both engines. */
describe.each(ENGINES)('SqlEngine on %s', (engine) => {
  let target: DatabaseTarget;
  let db: DataSource;
  let sql: SqlEngine;
  const ids = async () => (await sql.all<{ id: string }>('SELECT "id" FROM "engine_probe" ORDER BY "id"', [])).map((row) => row.id);

  beforeAll(async () => {
    target = await freshDatabase(engine);
    db = new DataSource(dataSourceOptions(target.url, [Probe]));
    await db.initialize();
    await db.synchronize();
    sql = SqlEngine.of(db);
  });
  afterAll(async () => {
    await db?.destroy();
    await target?.drop();
  });
  beforeEach(async () => {
    await db.getRepository(Probe).clear();
  });

  it('names its engine and is one adapter per data source (its prepared statements are kept)', () => {
    expect(sql.engine).toBe(engine);
    expect(SqlEngine.of(db)).toBe(sql);
  });

  it('binds a placeholder that appears more than once, and reads the same statement again', async () => {
    await sql.run(INSERT, ['a', 'x', true, AT]);
    await sql.run(INSERT, ['x', null, false, AT]);
    for (let i = 0; i < 3; i++) {
      expect(await sql.all<{ id: string }>('SELECT "id" FROM "engine_probe" WHERE "id" = $1 OR "label" = $1 ORDER BY "id"', ['x'])).toEqual(
        [{ id: 'a' }, { id: 'x' }],
      );
    }
  });

  it('writes booleans and dates as TypeORM writes them: TypeORM reads back what the adapter wrote', async () => {
    await sql.run(INSERT, ['b', null, true, AT]);
    await sql.run(INSERT, ['c', 'c', false, AT]);
    const rows = await db.getRepository(Probe).find({ order: { id: 'ASC' } });
    expect(rows.map((row) => [row.id, row.label, row.flag, row.at.toISOString()])).toEqual([
      ['b', null, true, AT.toISOString()],
      ['c', 'c', false, AT.toISOString()],
    ]);
    // Compared as TypeORM's own query compares them: the date matches itself, not a millisecond later.
    expect(await db.getRepository(Probe).countBy({ at: AT, flag: true })).toBe(1);
  });

  it('reads what TypeORM wrote: dates to the millisecond (dateColumn), booleans, nulls; compares dates as TypeORM wrote them', async () => {
    await db.getRepository(Probe).insert({ id: 'd', label: null, flag: true, at: AT });
    const [row] = await sql.all<{ label: string | null; flag: unknown; at: unknown }>(
      'SELECT "label", "flag", "at" FROM "engine_probe" WHERE "at" = $1 AND "flag" = $2',
      [AT, true],
    );
    expect(row?.label).toBeNull();
    expect(row?.flag === true || row?.flag === 1).toBe(true);
    expect(dateColumn(row?.at).toISOString()).toBe(AT.toISOString());
    expect(await sql.all('SELECT "id" FROM "engine_probe" WHERE "at" > $1', [AT])).toEqual([]);
  });

  it('run answers how many rows it changed', async () => {
    for (const id of ['e1', 'e2', 'e3']) await sql.run(INSERT, [id, id === 'e3' ? 'other' : 'same', false, AT]);
    expect(await sql.run('UPDATE "engine_probe" SET "flag" = $1 WHERE "label" = $2', [true, 'same'])).toBe(2);
    expect(await sql.run('DELETE FROM "engine_probe" WHERE "label" = $1', ['none'])).toBe(0);
  });

  it('transaction answers the rows each statement changed, and a failing statement rolls back all of them', async () => {
    expect(
      await sql.transaction([
        [INSERT, ['t1', null, true, AT]],
        ['UPDATE "engine_probe" SET "label" = $1 WHERE "id" = $2', ['done', 't1']],
      ]),
    ).toEqual([1, 1]);
    await expect(
      sql.transaction([
        [INSERT, ['t2', null, true, AT]],
        ['SELECT "no_such_column" FROM "engine_probe"', []],
      ]),
    ).rejects.toThrow();
    await expect(
      sql.transaction([
        [INSERT, ['t3', null, true, AT]],
        [INSERT, ['t1', null, true, AT]],
      ]),
    ).rejects.toThrow();
    expect(await ids()).toEqual(['t1']);
  });

  it('transaction builds a step from what the earlier ones changed, inside the transaction', async () => {
    await sql.run(INSERT, ['s1', 'old', false, AT]);
    const mark =
      (label: string) =>
      (changed: readonly number[]): [string, unknown[]][] =>
        changed[0] > 0 ? [[INSERT, [`${label}-${changed[0]}`, null, true, AT]]] : [];
    expect(await sql.transaction([['UPDATE "engine_probe" SET "label" = $1 WHERE "label" = $2', ['new', 'old']], mark('ended')])).toEqual([
      1, 1,
    ]);
    expect(await sql.transaction([['UPDATE "engine_probe" SET "label" = $1 WHERE "label" = $2', ['new', 'old']], mark('again')])).toEqual([
      0,
    ]);
    // A failing built step rolls back the statement before it.
    const failing = () => [['SELECT "no_such_column" FROM "engine_probe"', []] as [string, unknown[]]];
    await expect(
      sql.transaction([['UPDATE "engine_probe" SET "label" = $1 WHERE "label" = $2', ['newest', 'new']], failing]),
    ).rejects.toThrow();
    expect(await ids()).toEqual(['ended-1', 's1']);
    expect((await db.getRepository(Probe).findOneByOrFail({ id: 's1' })).label).toBe('new');
  });

  it('writeAtomically writes every statement (placeholders of each shifted past the previous ones) or none', async () => {
    await sql.writeAtomically([
      [INSERT, ['w1', 'w', true, AT]],
      ['INSERT INTO "engine_probe" ("id", "label", "flag", "at") VALUES ($1, $1, $2, $3)', ['w2', false, AT]],
    ]);
    expect(await db.getRepository(Probe).findOneByOrFail({ id: 'w2' })).toMatchObject({ label: 'w2', flag: false });
    await expect(
      sql.writeAtomically([
        [INSERT, ['w3', null, true, AT]],
        [INSERT, ['w1', null, true, AT]],
      ]),
    ).rejects.toThrow();
    expect(await ids()).toEqual(['w1', 'w2']);
  });

  it("forEntityManager: the same statement inside a caller's TypeORM transaction, committed or rolled back with it", async () => {
    const repeated: [string, unknown[]] = [
      'INSERT INTO "engine_probe" ("id", "label", "flag", "at") VALUES ($1, $1, $2, $3)',
      ['m1', true, AT],
    ];
    await db.transaction(async (manager) => {
      const [text, values] = sql.forEntityManager(repeated);
      await manager.query(text, values);
    });
    await expect(
      db.transaction(async (manager) => {
        const [text, values] = sql.forEntityManager([repeated[0], ['m2', true, AT]]);
        await manager.query(text, values);
        throw new Error('the caller fails after the write');
      }),
    ).rejects.toThrow('the caller fails');
    expect(await db.getRepository(Probe).find()).toEqual([{ id: 'm1', label: 'm1', flag: true, at: AT }]);
  });

  it("never runs inside another caller's open TypeORM transaction: that one rolling back keeps the adapter's write", async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const typeorm = db.transaction(async (manager) => {
      await manager.getRepository(Probe).insert({ id: 'rolled-back', label: null, flag: true, at: AT });
      opened();
      await held;
      throw new Error('rolled back');
    });
    await open;
    let written = false;
    const adapter = sql.run(INSERT, ['kept', null, false, AT]).then((changed) => {
      written = true;
      return changed;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // SQLite: one connection, so the adapter waits for the transaction to end. PostgreSQL: its own connection.
    expect(written).toBe(engine === 'postgres');
    release();
    await expect(typeorm).rejects.toThrow('rolled back');
    expect(await adapter).toBe(1);
    expect(await ids()).toEqual(['kept']);
  });

  if (engine === 'postgres') {
    it('runs a named statement again unnamed when a migration changed its result type (0A000)', async () => {
      await db.query('CREATE TABLE plan_probe (id integer PRIMARY KEY, v integer)');
      await db.query('INSERT INTO plan_probe VALUES (1, 7)');
      const read = () => sql.all<{ v: unknown }>('SELECT "v" FROM "plan_probe" WHERE "id" = $1', [1]);
      // One at a time, so the pool hands out the same connection, which keeps the prepared statement.
      for (let i = 0; i < 3; i++) expect((await read())[0]?.v).toBe(7);
      await db.query('ALTER TABLE plan_probe ALTER COLUMN v TYPE text');
      for (let i = 0; i < 3; i++) expect((await read())[0]?.v).toBe('7');
      await db.query('DROP TABLE plan_probe');
    });
  }
});
