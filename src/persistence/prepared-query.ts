import type { DataSource } from 'typeorm';
import { SqlEngine } from './sql-engine.js';

/**
 * One statement on a hot path (every member request looks up its session), written once with
 * PostgreSQL's `$1 … $n` placeholders and run by SqlEngine as a statement prepared once per
 * connection, without TypeORM's query builder and query runner.
 */
export class PreparedQuery<Row extends object> {
  private readonly engine: SqlEngine;

  constructor(
    dataSource: DataSource,
    private readonly sql: string,
  ) {
    this.engine = SqlEngine.of(dataSource);
  }

  /** Every row the query answers. */
  all(parameters: unknown[]): Promise<Row[]> {
    return this.engine.all<Row>(this.sql, parameters);
  }

  /** Runs a write (INSERT, UPDATE or DELETE without RETURNING) and answers how many rows it changed. */
  run(parameters: unknown[]): Promise<number> {
    return this.engine.run(this.sql, parameters);
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
export async function deleteInBatches(
  dataSource: DataSource,
  table: string,
  key: string,
  where: string,
  parameters: unknown[],
  batch?: number,
): Promise<number> {
  const sqlite = SqlEngine.of(dataSource).engine === 'sqlite';
  let size = batch ?? (sqlite ? DELETE_BATCH.sqlite : DELETE_BATCH.postgres);
  const limit = `$${parameters.length + 1}`;
  // SQLite: by rowid, which every index holds, so the inner select is a covering index search. By the
  // primary key it needs the table row, and once ANALYZE has seen that most rows match, SQLite scans
  // the table instead (measured: 100 ms per statement of 100 rows at 400,000 sessions, 8 ms by rowid).
  const id = sqlite ? 'rowid' : `"${key}"`;
  const statement = new PreparedQuery<never>(
    dataSource,
    `DELETE FROM "${table}" WHERE ${id} IN (SELECT ${id} FROM "${table}" WHERE ${where} LIMIT ${limit})`,
  );
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
