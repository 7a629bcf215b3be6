import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { DataSourceOptions } from 'typeorm';
import { MIGRATIONS } from './migrations/index.js';

export type DatabaseEngine = 'sqlite' | 'postgres';

export function engineOf(url: string): DatabaseEngine {
  return url.startsWith('sqlite:') ? 'sqlite' : 'postgres';
}

/** Owner read and write only: the database holds sessions, OIDC transactions and the encrypted member keys. */
const PRIVATE_FILE = 0o600;

/**
 * Makes the SQLite database file (and its folder, when new: 0700) before SQLite opens it, with mode
 * 0600 whatever the umask; an existing database and its -wal and -shm files are narrowed to 0600
 * too. SQLite gives the -wal and -shm files it creates later the database file's mode.
 */
function createPrivately(file: string): void {
  const path = resolve(file);
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, 'a', PRIVATE_FILE));
  for (const each of [path, `${path}-wal`, `${path}-shm`]) {
    if (existsSync(each)) chmodSync(each, PRIVATE_FILE);
  }
}

/**
 * TypeORM options for DATABASE_URL: `sqlite:<file>` (better-sqlite3, WAL) or `postgres://…`.
 * A `schema` query parameter on a PostgreSQL URL selects a schema (tests use one per run).
 * Migrations always run; `synchronize` never does.
 */
export function dataSourceOptions(url: string, entities: DataSourceOptions['entities'] = []): DataSourceOptions {
  const common = { entities, migrations: MIGRATIONS, migrationsRun: false, synchronize: false, logging: false } as const;
  if (engineOf(url) === 'sqlite') {
    const file = url.slice('sqlite:'.length);
    if (file !== ':memory:') createPrivately(file);
    return {
      ...common,
      type: 'better-sqlite3',
      database: file,
      enableWAL: true,
      prepareDatabase: (db: { pragma: (sql: string) => unknown }) => {
        db.pragma('busy_timeout = 5000');
        db.pragma('synchronous = NORMAL');
        db.pragma('foreign_keys = ON');
      },
    };
  }
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? undefined;
  parsed.searchParams.delete('schema');
  return {
    ...common,
    type: 'postgres',
    url: parsed.toString(),
    schema,
    extra: {
      max: 10,
      connectionTimeoutMillis: 3000,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    },
  };
}
