import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface DatabaseTarget {
  engine: 'sqlite' | 'postgres';
  /** A DATABASE_URL for a fresh, empty database (a temp SQLite file, or a new PostgreSQL schema). */
  url: string;
  drop(): Promise<void>;
}

/** PostgreSQL runs when TEST_DATABASE_URL is set (.ci/run sets it); otherwise its suites say they were skipped. */
export const POSTGRES_URL = process.env.TEST_DATABASE_URL;

export function freshSqlite(): DatabaseTarget {
  const dir = mkdtempSync(join(tmpdir(), 'bff-test-'));
  return {
    engine: 'sqlite',
    url: `sqlite:${join(dir, 'bff.sqlite')}`,
    drop: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

export async function freshPostgres(base = POSTGRES_URL): Promise<DatabaseTarget> {
  if (!base) throw new Error('TEST_DATABASE_URL is not set');
  const schema = `t_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: base });
  await client.connect();
  await client.query(`CREATE SCHEMA ${schema}`);
  await client.end();
  const url = new URL(base);
  url.searchParams.set('schema', schema);
  return {
    engine: 'postgres',
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    },
  };
}

/** The engines a persistence suite runs on: SQLite always, PostgreSQL when configured. */
export const ENGINES: ('sqlite' | 'postgres')[] = POSTGRES_URL ? ['sqlite', 'postgres'] : ['sqlite'];

export function freshDatabase(engine: 'sqlite' | 'postgres'): Promise<DatabaseTarget> {
  return engine === 'sqlite' ? Promise.resolve(freshSqlite()) : freshPostgres();
}

if (!POSTGRES_URL && process.env.REQUIRE_POSTGRES === '1') {
  throw new Error('REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: the PostgreSQL suites must run here.');
}
if (!POSTGRES_URL) {
  process.stdout.write('PostgreSQL suites skipped: TEST_DATABASE_URL is not set (.ci/run sets it).\n');
}
