import type BetterSqlite3 from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { Pool, QueryResult } from 'pg';
import type { DataSource } from 'typeorm';

const sqliteStatements = new WeakMap<BetterSqlite3.Database, Map<string, BetterSqlite3.Statement>>();

/** The better-sqlite3 connection TypeORM holds for a `better-sqlite3` data source. */
export function sqliteConnection(dataSource: DataSource): BetterSqlite3.Database {
  return (dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
}

/** A statement prepared once per SQLite connection and kept for its lifetime. */
export function preparedSqlite(db: BetterSqlite3.Database, sql: string): BetterSqlite3.Statement {
  let cache = sqliteStatements.get(db);
  if (!cache) {
    cache = new Map();
    sqliteStatements.set(db, cache);
  }
  let statement = cache.get(sql);
  if (!statement) {
    statement = db.prepare(sql);
    cache.set(sql, statement);
  }
  return statement;
}

/** The pg pool TypeORM holds for a `postgres` data source. */
function postgresPool(dataSource: DataSource): Pool {
  return (dataSource.driver as unknown as { master: Pool }).master;
}

const statementNames = new Map<string, string>();

/**
 * A name for the SQL, the same in every process: pg prepares a named statement once per pooled
 * connection, then only binds and executes it.
 */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `q_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
    statementNames.set(sql, name);
  }
  return name;
}

/**
 * Runs SQL on the pg pool as a named statement. PostgreSQL refuses a statement prepared before a
 * migration changed a column it returns (0A000 "cached plan must not change result type"), and a
 * pooler may not keep named statements (26000): either way nothing ran, so it runs once more unnamed.
 */
export async function queryPostgres<Row extends object>(dataSource: DataSource, sql: string, values: unknown[]): Promise<Row[]> {
  return (await resultPostgres<Row>(dataSource, sql, values)).rows;
}

/** queryPostgres with the whole result (rows and rowCount). */
async function resultPostgres<Row extends object>(dataSource: DataSource, sql: string, values: unknown[]): Promise<QueryResult<Row>> {
  const pool = postgresPool(dataSource);
  try {
    return await pool.query<Row>({ name: statementName(sql), text: sql, values });
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code !== '0A000' && code !== '26000') throw error;
    return await pool.query<Row>({ text: sql, values });
  }
}

/** How long a read or write waits for another caller's transaction on the shared SQLite connection. */
const SQLITE_WAIT_MS = 5000;

/**
 * Waits until no transaction is open on the shared SQLite connection (TypeORM and this module share
 * one), so a statement never runs inside another caller's transaction. Gives up as SQLite itself does
 * after busy_timeout: SQLITE_BUSY, which the problem filter answers 503 database_unavailable.
 */
export async function sqliteIdle(db: BetterSqlite3.Database): Promise<void> {
  const deadline = Date.now() + SQLITE_WAIT_MS;
  while (db.inTransaction) {
    if (Date.now() > deadline) throw Object.assign(new Error('SQLite stayed inside another transaction'), { code: 'SQLITE_BUSY' });
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** A parameter as TypeORM writes it to SQLite: booleans as 0/1, dates as UTC `YYYY-MM-DD HH:MM:SS.sss`. */
export function sqliteValue(value: unknown): unknown {
  if (typeof value === 'boolean') return Number(value);
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  return value;
}

/** `$n` parameters as better-sqlite3's named parameters `p1 … pn`, written as TypeORM writes them. */
function sqliteParameters(parameters: unknown[]): Record<string, unknown> {
  const named: Record<string, unknown> = {};
  for (let index = 0; index < parameters.length; index++) named[`p${index + 1}`] = sqliteValue(parameters[index]);
  return named;
}

/** A date column as read back: a Date from pg, UTC text from SQLite (as TypeORM hydrates it). */
export function dateColumn(value: unknown): Date {
  if (value instanceof Date) return value;
  const text = String(value);
  return new Date(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text);
}

/**
 * One read on a hot path (every member request looks up its session) without TypeORM's query builder
 * and query runner, which cost more than the query itself: the driver runs a statement prepared once
 * per connection. Written once, with PostgreSQL's `$1 … $n` placeholders; on SQLite they become named
 * parameters (`@p1 … @pn`), so a placeholder may appear more than once on either engine.
 */
export class PreparedQuery<Row extends object> {
  private readonly sqliteSql: string;
  private readonly sqlite: boolean;

  constructor(
    private readonly dataSource: DataSource,
    private readonly sql: string,
  ) {
    const type = dataSource.options.type;
    if (type !== 'better-sqlite3' && type !== 'postgres') throw new Error(`PreparedQuery supports better-sqlite3 and postgres, not ${type}`);
    this.sqlite = type === 'better-sqlite3';
    this.sqliteSql = sql.replace(/\$(\d+)/g, '@p$1');
  }

  /** Every row the query answers. */
  async all(parameters: unknown[]): Promise<Row[]> {
    if (this.sqlite) {
      const db = sqliteConnection(this.dataSource);
      // Not in another caller's transaction (the check is synchronous: no tick is spent when idle).
      if (db.inTransaction) await sqliteIdle(db);
      const statement = preparedSqlite(db, this.sqliteSql);
      if (parameters.length === 0) return statement.all() as Row[];
      return statement.all(sqliteParameters(parameters)) as Row[];
    }
    return queryPostgres<Row>(this.dataSource, this.sql, parameters);
  }

  /** Runs a write (INSERT, UPDATE or DELETE without RETURNING) and answers how many rows it changed. */
  async run(parameters: unknown[]): Promise<number> {
    if (this.sqlite) {
      const db = sqliteConnection(this.dataSource);
      if (db.inTransaction) await sqliteIdle(db);
      const statement = preparedSqlite(db, this.sqliteSql);
      return (parameters.length === 0 ? statement.run() : statement.run(sqliteParameters(parameters))).changes;
    }
    return (await resultPostgres(this.dataSource, this.sql, parameters)).rowCount ?? 0;
  }

  /** The first row the query answers, or undefined. */
  async first(parameters: unknown[]): Promise<Row | undefined> {
    return (await this.all(parameters))[0];
  }
}

/**
 * Rows per statement of deleteInBatches, to start with. On SQLite a statement holds the whole process
 * (better-sqlite3 is synchronous) and a deleted row costs a page write in each of the table's indexes,
 * so the batch adapts to take about DELETE_BATCH_BUDGET_MS; on PostgreSQL the work is the server's
 * and a batch costs one round trip.
 */
export const DELETE_BATCH = { sqlite: 100, postgres: 500 } as const;
/** SQLite: a batch should hold the process about this long (it shrinks or grows to fit, 10 to 2,000 rows). */
export const DELETE_BATCH_BUDGET_MS = 10;

/**
 * Deletes the rows of `table` that `where` selects (SQL with `$n` placeholders, best served by an
 * index), at most one batch per statement, so a purge that meets a million rows never holds the
 * database (or, on SQLite, the process) for more than one batch. Between statements it pauses: on
 * SQLite twice as long as the batch took (at most a third of the process; timers fire late on a busy
 * event loop, which only slows the purge), on PostgreSQL as long as the batch took (at most half of
 * one pooled connection's time). A fixed `batch` turns the adapting off. Answers how many rows were
 * deleted.
 */
export async function deleteInBatches(dataSource: DataSource, table: string, key: string, where: string, parameters: unknown[], batch?: number): Promise<number> {
  const sqlite = dataSource.options.type === 'better-sqlite3';
  let size = batch ?? (sqlite ? DELETE_BATCH.sqlite : DELETE_BATCH.postgres);
  const limit = `$${parameters.length + 1}`;
  // SQLite: by rowid, which every index holds, so the inner select is a covering index search. By the
  // primary key it needs the table row, and once ANALYZE has seen that most rows match, SQLite scans
  // the table instead (measured: 100 ms per statement of 100 rows at 400,000 sessions, 8 ms by rowid).
  const id = sqlite ? 'rowid' : `"${key}"`;
  const statement = new PreparedQuery<never>(dataSource, `DELETE FROM "${table}" WHERE ${id} IN (SELECT ${id} FROM "${table}" WHERE ${where} LIMIT ${limit})`);
  let deleted = 0;
  for (;;) {
    const started = performance.now();
    const changed = await statement.run([...parameters, size]);
    const took = performance.now() - started;
    deleted += changed;
    if (changed < size) return deleted;
    if (sqlite && batch === undefined) {
      if (took > DELETE_BATCH_BUDGET_MS && size > 10) size = Math.max(10, Math.floor(size / 2));
      else if (took < DELETE_BATCH_BUDGET_MS / 2 && size < 2000) size = Math.min(2000, size * 2);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.max(1, Math.ceil(took * (sqlite ? 2 : 1)))));
  }
}
