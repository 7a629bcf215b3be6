import type BetterSqlite3 from 'better-sqlite3';
import { createHash } from 'node:crypto';
import type { Pool, QueryResult } from 'pg';
import type { DataSource } from 'typeorm';
import type { DatabaseEngine } from './data-source-options.js';

/**
 * A statement for either engine: SQL with PostgreSQL's `$1 … $n` placeholders (a placeholder may
 * appear more than once) and its values, written as TypeORM writes them (SqlEngine adapts both).
 */
export type Statement = [sql: string, values: unknown[]];

/**
 * One step of a transaction: a statement, or statements built from the rows the earlier steps changed
 * (a webhook row only when an UPDATE ended something, with how many). A function is called inside the
 * transaction, synchronously on SQLite: it must not wait for anything.
 */
export type TransactionStep = Statement | ((changed: readonly number[]) => Statement[]);

/** How long a read or write waits for another caller's transaction on the shared SQLite connection. */
const SQLITE_WAIT_MS = 5000;

const engines = new WeakMap<DataSource, SqlEngine>();

/**
 * The one place that reaches into TypeORM's driver internals (`driver.databaseConnection`, the
 * better-sqlite3 connection, and `driver.master`, the pg pool). The hot paths run here as statements
 * prepared once per connection and without TypeORM's query builder and query runner, which cost more
 * than the query (docs/decisions.md, "Hot-path SQL: one driver adapter and a column map per table").
 * `test/sql-engine.e2e-spec.ts` holds it to the same contract on both engines.
 */
export class SqlEngine {
  readonly engine: DatabaseEngine;
  /** SQLite statements prepared on `preparedOn` (a data source initialised again has a new connection). */
  private sqliteStatements = new Map<string, BetterSqlite3.Statement>();
  private preparedOn?: BetterSqlite3.Database;

  private constructor(private readonly dataSource: DataSource) {
    const type = dataSource.options.type;
    if (type !== 'better-sqlite3' && type !== 'postgres') throw new Error(`SqlEngine supports better-sqlite3 and postgres, not ${type}`);
    this.engine = type === 'postgres' ? 'postgres' : 'sqlite';
  }

  /** The adapter of a data source (one per data source, so its prepared statements are kept). */
  static of(dataSource: DataSource): SqlEngine {
    let engine = engines.get(dataSource);
    if (!engine) {
      engine = new SqlEngine(dataSource);
      engines.set(dataSource, engine);
    }
    return engine;
  }

  /** Every row the statement answers. */
  async all<Row extends object>(sql: string, values: unknown[]): Promise<Row[]> {
    if (this.engine === 'postgres') return (await this.queryPostgres<Row>(sql, values)).rows;
    const statement = await this.idleSqlite(sql);
    return statement.all(...sqliteParameters(values)) as Row[];
  }

  /** Runs a write (INSERT, UPDATE or DELETE without RETURNING) and answers how many rows it changed. */
  async run(sql: string, values: unknown[]): Promise<number> {
    if (this.engine === 'postgres') return (await this.queryPostgres(sql, values)).rowCount ?? 0;
    const statement = await this.idleSqlite(sql);
    return statement.run(...sqliteParameters(values)).changes;
  }

  /**
   * Runs the steps in one transaction and answers the rows each statement changed (a reader: the rows
   * it answered), in order. A statement that fails rolls back all of them.
   *
   * SQLite: TypeORM shares one query runner, so concurrent async transactions would nest into each
   * other. better-sqlite3 is synchronous, so the whole transaction runs in one tick, once no TypeORM
   * transaction is open, and nothing can interleave; IMMEDIATE takes the write lock up front (another
   * process holding it is waited for, up to busy_timeout). PostgreSQL: a pooled connection of its own.
   */
  async transaction(steps: TransactionStep[]): Promise<number[]> {
    if (this.engine === 'sqlite') {
      await this.sqliteIdle();
      return this.sqlite()
        .transaction(() => {
          const changed: number[] = [];
          for (const step of steps) {
            for (const [sql, values] of typeof step === 'function' ? step(changed) : [step]) {
              const statement = this.preparedSqlite(sql);
              const parameters = sqliteParameters(values);
              changed.push(statement.reader ? statement.all(...parameters).length : statement.run(...parameters).changes);
            }
          }
          return changed;
        })
        .immediate();
    }
    const runner = this.dataSource.createQueryRunner();
    try {
      await runner.connect();
      await runner.startTransaction();
      const affected: number[] = [];
      try {
        for (const step of steps) {
          for (const [sql, values] of typeof step === 'function' ? step(affected) : [step])
            affected.push((await runner.query(sql, values, true)).affected ?? 0);
        }
        await runner.commitTransaction();
      } catch (error) {
        await runner.rollbackTransaction();
        throw error;
      }
      return affected;
    } finally {
      await runner.release();
    }
  }

  /**
   * Runs several writes atomically with as few round trips as the engine allows: on PostgreSQL one
   * prepared statement (the first ones as data-modifying CTEs, which always run to completion, the
   * last as the main statement); on SQLite one synchronous transaction as in `transaction`.
   */
  async writeAtomically(statements: Statement[]): Promise<void> {
    if (this.engine === 'sqlite') {
      await this.transaction(statements);
      return;
    }
    await this.queryPostgres(
      combinedSql(statements),
      statements.flatMap(([, values]) => values),
    );
  }

  /**
   * The statement as `EntityManager.query` takes it on this engine, for a write inside a caller's
   * TypeORM transaction: on SQLite each `$n` becomes `?` with its value repeated in order and written
   * as TypeORM writes it.
   */
  forEntityManager([sql, values]: Statement): Statement {
    if (this.engine === 'postgres') return [sql, values];
    const ordered: unknown[] = [];
    const text = sql.replace(/\$(\d+)/g, (_match, n: string) => {
      ordered.push(sqliteValue(values[Number(n) - 1]));
      return '?';
    });
    return [text, ordered];
  }

  private sqlite(): BetterSqlite3.Database {
    return sqliteConnection(this.dataSource);
  }

  /** The pg pool TypeORM holds. */
  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }

  /** A statement prepared once per SQLite connection, `$n` written as better-sqlite3's named `@pn`. */
  private preparedSqlite(sql: string, db = this.sqlite()): BetterSqlite3.Statement {
    if (db !== this.preparedOn) {
      this.sqliteStatements = new Map();
      this.preparedOn = db;
    }
    let statement = this.sqliteStatements.get(sql);
    if (!statement) {
      statement = db.prepare(sql.replace(/\$(\d+)/g, '@p$1'));
      this.sqliteStatements.set(sql, statement);
    }
    return statement;
  }

  /** The prepared statement, once no other caller's transaction is open (no tick is spent when idle). */
  private async idleSqlite(sql: string): Promise<BetterSqlite3.Statement> {
    const db = this.sqlite();
    if (db.inTransaction) await this.sqliteIdle();
    return this.preparedSqlite(sql, db);
  }

  /**
   * Waits until no transaction is open on the shared SQLite connection (TypeORM and this adapter share
   * one), so a statement never runs inside another caller's transaction. Gives up as SQLite itself does
   * after busy_timeout: SQLITE_BUSY, which the problem filter answers 503 database_unavailable.
   */
  private async sqliteIdle(): Promise<void> {
    const db = this.sqlite();
    const deadline = Date.now() + SQLITE_WAIT_MS;
    while (db.inTransaction) {
      if (Date.now() > deadline) throw Object.assign(new Error('SQLite stayed inside another transaction'), { code: 'SQLITE_BUSY' });
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Runs SQL on the pg pool as a named statement (prepared once per pooled connection, then only bound
   * and executed). PostgreSQL refuses a statement prepared before a migration changed a column it
   * returns (0A000 "cached plan must not change result type"), and a pooler may not keep named
   * statements (26000): either way nothing ran, so it runs once more unnamed.
   */
  private async queryPostgres<Row extends object>(sql: string, values: unknown[]): Promise<QueryResult<Row>> {
    const pool = this.pool();
    try {
      return await pool.query<Row>({ name: statementName(sql), text: sql, values });
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== '0A000' && code !== '26000') throw error;
      return await pool.query<Row>({ text: sql, values });
    }
  }
}

/**
 * The better-sqlite3 connection TypeORM holds for a `better-sqlite3` data source. Outside this file
 * only for what is not a statement (bench/seed.ts reads PRAGMAs and runs ANALYZE).
 */
export function sqliteConnection(dataSource: DataSource): BetterSqlite3.Database {
  return (dataSource.driver as unknown as { databaseConnection: BetterSqlite3.Database }).databaseConnection;
}

/** A value as TypeORM writes it to SQLite: booleans as 0/1, dates as UTC `YYYY-MM-DD HH:MM:SS.sss`. */
export function sqliteValue(value: unknown): unknown {
  if (typeof value === 'boolean') return Number(value);
  if (value instanceof Date) return value.toISOString().replace('T', ' ').replace('Z', '');
  return value;
}

/**
 * `$n` values as better-sqlite3's bind arguments: one object of named parameters `p1 … pn`, written as
 * TypeORM writes them, or none for a statement without parameters (better-sqlite3 refuses an object there).
 */
function sqliteParameters(values: unknown[]): [Record<string, unknown>] | [] {
  if (values.length === 0) return [];
  const named: Record<string, unknown> = {};
  for (let index = 0; index < values.length; index++) named[`p${index + 1}`] = sqliteValue(values[index]);
  return [named];
}

/** A date column as read back: a Date from pg, UTC text from SQLite (as TypeORM hydrates it). */
export function dateColumn(value: unknown): Date {
  if (value instanceof Date) return value;
  const text = String(value);
  return new Date(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)?$/.test(text) ? `${text.replace(' ', 'T')}Z` : text);
}

const statementNames = new Map<string, string>();

/** A name for the SQL, the same in every process, for pg's named (prepared) statements. */
function statementName(sql: string): string {
  let name = statementNames.get(sql);
  if (!name) {
    name = `q_${createHash('sha256').update(sql).digest('hex').slice(0, 16)}`;
    statementNames.set(sql, name);
  }
  return name;
}

const combined = new Map<string, string>();

/**
 * The statements as one: the first ones as data-modifying CTEs, the last as the main statement, each
 * one's `$n` placeholders shifted past the previous ones' values. Built once per list of statements
 * (callers pass a few fixed ones), not per write.
 */
function combinedSql(statements: Statement[]): string {
  const key = statements.map(([part, values]) => `${values.length}\u0000${part}`).join('\u0000');
  let sql = combined.get(key);
  if (sql === undefined) {
    let offset = 0;
    const parts = statements.map(([part, values]) => {
      const shift = offset;
      offset += values.length;
      // The SQL carries its values only as $n placeholders, never as literals.
      return part.replace(/\$(\d+)/g, (_match, n: string) => `$${Number(n) + shift}`);
    });
    const main = parts.pop()!;
    sql = parts.length === 0 ? main : `WITH ${parts.map((part, index) => `w${index} AS (${part})`).join(', ')} ${main}`;
    combined.set(key, sql);
  }
  return sql;
}
