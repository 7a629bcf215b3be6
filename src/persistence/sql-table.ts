import type { Statement } from './sql-engine.js';

/**
 * Per property of a row, its column. Written once per table, beside its entity, which takes its
 * column names from it (`@Column({ name: CONNECTION_COLUMNS.keyId })`): renaming a column is this
 * map and a migration (docs/extending.md, "Change a column"). `satisfies ColumnMap<Entity>` makes
 * the map name every property, and test/sql-tables.e2e-spec.ts holds it to the migrated table.
 */
export type ColumnMap<Row> = { readonly [K in keyof Row]-?: string };

/** Values for a statement, keyed by property: each must have its property's type, so a swap does not compile. */
export type RowValues<Row> = { [K in keyof Row]?: Row[K] };

/**
 * A row as read back by hand SQL: a date column comes back as text from SQLite (read it with
 * dateColumn), everything else as written.
 */
export type ReadRow<Row> = { [K in keyof Row]: Row[K] extends Date ? unknown : Row[K] extends Date | null ? unknown : Row[K] };

/** A table for hand-written SQL: its name and its columns, quoted, for the statements' text. */
export interface SqlTable<Row> {
  readonly name: string;
  /** The table's name, quoted. */
  readonly ref: string;
  readonly columns: ColumnMap<Row>;
  /** Per property, its column quoted: `${SESSIONS.c.expiresAt} < $1`. */
  readonly c: ColumnMap<Row>;
}

/** Where an insert meets a row already there: the `conflict` key, and the properties the row keeps (the rest are overwritten). */
export interface Upsert<Row> {
  conflict: keyof Row & string;
  keep: readonly (keyof Row & string)[];
}

const quote = (identifier: string) => `"${identifier}"`;

export function sqlTable<Row>(name: string, columns: ColumnMap<Row>): SqlTable<Row> {
  const c = Object.fromEntries(Object.entries(columns).map(([property, column]) => [property, quote(column as string)])) as ColumnMap<Row>;
  return { name, ref: quote(name), columns, c };
}

const inserts = new WeakMap<SqlTable<unknown>, Map<string, string>>();

/**
 * `INSERT INTO table (columns) VALUES ($1 … $n)` with the columns and the values taken from the same
 * keys of `values`, so a value cannot land in another column. With `upsert`: `ON CONFLICT (key) DO
 * UPDATE` every written column but the key and those kept. The SQL is built once per table and set of
 * keys (the engines prepare it once per connection).
 */
export function insertStatement<Row>(table: SqlTable<Row>, values: RowValues<Row>, upsert?: Upsert<Row>): Statement {
  const keys = Object.keys(values) as (keyof Row & string)[];
  let cache = inserts.get(table);
  if (!cache) {
    cache = new Map();
    inserts.set(table, cache);
  }
  const cacheKey = upsert ? `${keys.join(',')}|${upsert.conflict}|${upsert.keep.join(',')}` : keys.join(',');
  let sql = cache.get(cacheKey);
  if (sql === undefined) {
    sql = `INSERT INTO ${table.ref} (${keys.map((key) => table.c[key]).join(', ')}) VALUES (${keys.map((_, index) => `$${index + 1}`).join(', ')})`;
    if (upsert) {
      const overwritten = keys.filter((key) => key !== upsert.conflict && !upsert.keep.includes(key));
      sql += ` ON CONFLICT (${table.c[upsert.conflict]}) DO UPDATE SET ${overwritten.map((key) => `${table.c[key]} = EXCLUDED.${table.c[key]}`).join(', ')}`;
    }
    cache.set(cacheKey, sql);
  }
  return [sql, keys.map((key) => values[key])];
}

/** `"column" AS "property", …`: rows come back keyed by property (read them as ReadRow). */
export function selectColumns<Row>(table: SqlTable<Row>, keys: readonly (keyof Row & string)[]): string {
  return keys.map((key) => `${table.c[key]} AS ${quote(key)}`).join(', ');
}
