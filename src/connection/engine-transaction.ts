import type { DataSource } from 'typeorm';
import { preparedSqlite, queryPostgres, sqliteConnection, sqliteIdle, sqliteValue } from '../persistence/prepared-query.js';

/** A statement ready for either engine: SQL in the driver's placeholder style and its parameters. */
export type Statement = [sql: string, parameters: unknown[]];

/**
 * Runs the statements in one transaction on either engine and answers the rows each one changed.
 *
 * SQLite: TypeORM shares one query runner, so concurrent async transactions would nest into each
 * other. better-sqlite3 is synchronous, so the whole transaction runs in one tick, once no TypeORM
 * transaction is open, and nothing can interleave; IMMEDIATE takes the write lock up front (another
 * process holding it is waited for, up to busy_timeout). PostgreSQL: a pooled connection of its own.
 */
export async function runInTransaction(dataSource: DataSource, statements: Statement[]): Promise<number[]> {
  if (dataSource.options.type === 'better-sqlite3') {
    const db = sqliteConnection(dataSource);
    await sqliteIdle(db);
    return db
      .transaction(() =>
        statements.map(([sql, parameters]) => {
          const statement = preparedSqlite(db, sql);
          const values = parameters.map(sqliteValue);
          if (statement.reader) return statement.all(...values).length;
          return statement.run(...values).changes;
        }),
      )
      .immediate();
  }
  const runner = dataSource.createQueryRunner();
  try {
    await runner.connect();
    await runner.startTransaction();
    const affected: number[] = [];
    try {
      for (const [sql, parameters] of statements) affected.push((await runner.query(sql, parameters, true)).affected ?? 0);
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
 * statement (the first ones as data-modifying CTEs, which always run to completion, the last as the
 * main statement); on SQLite one synchronous transaction as in runInTransaction.
 */
export async function writeAtomically(dataSource: DataSource, statements: Statement[]): Promise<void> {
  if (dataSource.options.type !== 'postgres') {
    await runInTransaction(dataSource, statements);
    return;
  }
  // A named statement on the pool itself: prepared once per connection, no TypeORM query runner.
  await queryPostgres(dataSource, combinedSql(statements), statements.flatMap(([, values]) => values));
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
