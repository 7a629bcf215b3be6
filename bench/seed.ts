/**
 * Fills a BFF database with synthetic rows, for the benchmark's large-data round (BENCH_LARGE=1) or
 * by hand:
 *
 *   node dist/bench/seed.js <DATABASE_URL> [--sessions N] [--expired-sessions N] [--connections N] [--events N]
 *
 * Runs the migrations first, adds the rows and prints the row count of every table it fills.
 * PostgreSQL: one `INSERT … SELECT … FROM generate_series` per table and chunk. SQLite: one
 * transaction per chunk with one prepared statement. Seeded rows never match a benchmarked request:
 * session tokens are not the hash of any token, MydexIDs are `seed…`, connection uids start at
 * 10,000,000, and events are a day old (inside any retention, so the callback's purge has nothing to
 * do). A NOT NULL column without a default that this file does not know (a later migration) gets a
 * neutral value of its type, so the seed keeps working as the schema grows.
 */
import type BetterSqlite3 from 'better-sqlite3';
import { randomBytes, randomUUID } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { DataSource } from 'typeorm';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { sqliteConnection, sqliteValue } from '../src/persistence/sql-engine.js';

export interface SeedCounts {
  /** Live sessions (expire in a week). */
  sessions?: number;
  /** Sessions that expired two days ago: what the sessions purge deletes. */
  expiredSessions?: number;
  connections?: number;
  /** Connection events, spread over the seeded connections (and over the existing ones if none are added). */
  events?: number;
}

export const SEEDED_TABLES = ['sessions', 'connections', 'connection_events'] as const;
export type SeededTable = (typeof SEEDED_TABLES)[number];

/** Rows per statement on PostgreSQL and per transaction on SQLite. */
const CHUNK = 100_000;
const HOUR_MS = 3600 * 1000;
const DAY_MS = 24 * HOUR_MS;

/** A column value: as SQL over the row number `g` (PostgreSQL) and as a function of the row number (SQLite). */
interface ColumnValue {
  pg: string;
  js: (i: number) => unknown;
}

interface ColumnInfo {
  name: string;
  type: string;
  required: boolean;
}

const literal = (value: string): ColumnValue => ({ pg: `'${value.replace(/'/g, "''")}'`, js: () => value });
const number = (value: number): ColumnValue => ({ pg: String(value), js: () => value });
/**
 * A timestamp. On PostgreSQL the columns are `timestamp` (no time zone) and pg writes a Date as the
 * process's local wall-clock time, so the literal is that too.
 */
const at = (date: Date): ColumnValue => {
  const wall = new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().replace('T', ' ').replace('Z', '');
  return { pg: `'${wall}'::timestamp`, js: () => date };
};

function neutral(type: string): ColumnValue {
  const t = type.toLowerCase();
  if (/int|numeric|real|double|decimal/.test(t)) return number(0);
  if (/bool/.test(t)) return { pg: 'false', js: () => 0 };
  if (/time|date/.test(t)) return at(new Date());
  return literal('seed');
}

async function columnsOf(db: DataSource, table: SeededTable): Promise<ColumnInfo[]> {
  if (db.options.type === 'postgres') {
    const rows = (await db.query(
      `SELECT column_name, data_type, is_nullable, column_default FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1`,
      [table],
    )) as { column_name: string; data_type: string; is_nullable: string; column_default: string | null }[];
    return rows.map((r) => ({ name: r.column_name, type: r.data_type, required: r.is_nullable === 'NO' && r.column_default === null }));
  }
  const rows = sqliteConnection(db).prepare(`PRAGMA table_info("${table}")`).all() as {
    name: string;
    type: string;
    notnull: number;
    dflt_value: unknown;
    pk: number;
  }[];
  return rows.map((r) => ({
    name: r.name,
    type: r.type,
    required: r.notnull === 1 && r.dflt_value === null && !(r.pk === 1 && /int/i.test(r.type)),
  }));
}

/** The values this file knows per table; the rest of the required columns get neutral values. */
function knownColumns(
  table: SeededTable,
  run: string,
  options: { expired?: boolean; uidBase: number; connections: number; connectionUidBase: number },
): Record<string, ColumnValue> {
  const now = Date.now();
  if (table === 'sessions') {
    const expiresAt = options.expired ? new Date(now - 2 * DAY_MS) : new Date(now + 7 * DAY_MS);
    return {
      id: { pg: `(md5('${run}s' || g))::uuid::text`, js: () => randomUUID() },
      // 64 hex characters, unique per run and row, never the SHA-256 of a token anyone holds.
      token_hash: { pg: `md5('${run}a' || g) || md5('${run}b' || g)`, js: (i) => `${run}${i.toString(16).padStart(64 - run.length, '0')}` },
      client: { pg: `(CASE WHEN g % 2 = 0 THEN 'native' ELSE 'web' END)`, js: (i) => (i % 2 === 0 ? 'native' : 'web') },
      issuer: literal('https://seed.invalid/'),
      sub: { pg: `'seed-${run}-' || g`, js: (i) => `seed-${run}-${i}` },
      mydexid: { pg: `'seed${run}' || g`, js: (i) => `seed${run}${i}` },
      created_at: at(new Date(expiresAt.getTime() - 8 * DAY_MS)),
      expires_at: at(expiresAt),
      last_seen_at: at(new Date(Math.min(now, expiresAt.getTime()) - HOUR_MS)),
    };
  }
  if (table === 'connections') {
    const uid = (i: number) => options.uidBase + i;
    return {
      connection_id: { pg: `(${options.uidBase} + g) || '-seed'`, js: (i) => `${uid(i)}-seed` },
      uid: { pg: `${options.uidBase} + g`, js: uid },
      mydexid: { pg: `'seedc' || (${options.uidBase} + g)`, js: (i) => `seedc${uid(i)}` },
      mydexid_lower: { pg: `'seedc' || (${options.uidBase} + g)`, js: (i) => `seedc${uid(i)}` },
      key_id: literal('seed'),
      key_iv: literal('AAAAAAAAAAAAAAAA'),
      key_tag: literal('AAAAAAAAAAAAAAAAAAAAAA=='),
      key_ciphertext: literal('AAAA'),
      permissions_raw: literal('{}'),
      permissions: literal('{}'),
      version: number(1),
      last_method: literal('POST'),
      created_at: at(new Date(now - 30 * DAY_MS)),
      updated_at: at(new Date(now - 30 * DAY_MS)),
    };
  }
  // connection_events: five per connection on average, received a day ago.
  const n = Math.max(1, options.connections);
  const base = options.connectionUidBase;
  return {
    kind: literal('delivery'),
    method: literal('POST'),
    connection_id: { pg: `(${base} + 1 + (g % ${n})) || '-seed'`, js: (i) => `${base + 1 + (i % n)}-seed` },
    uid: { pg: `${base} + 1 + (g % ${n})`, js: (i) => base + 1 + (i % n) },
    content_type: literal('form'),
    request_id: { pg: `'seed-${run}-' || g`, js: (i) => `seed-${run}-${i}` },
    payload: literal('{}'),
    received_at: at(new Date(now - DAY_MS)),
  };
}

async function fill(
  db: DataSource,
  table: SeededTable,
  count: number,
  values: Record<string, ColumnValue>,
  progress: (text: string) => void,
): Promise<void> {
  if (count <= 0) return;
  const columns = (await columnsOf(db, table)).filter((c) => values[c.name] !== undefined || c.required);
  const chosen = columns.map((c) => ({ name: c.name, value: values[c.name] ?? neutral(c.type) }));
  const names = chosen.map((c) => `"${c.name}"`).join(', ');
  const started = Date.now();
  if (db.options.type === 'postgres') {
    for (let from = 1; from <= count; from += CHUNK) {
      const to = Math.min(count, from + CHUNK - 1);
      await db.query(
        `INSERT INTO "${table}" (${names}) SELECT ${chosen.map((c) => c.value.pg).join(', ')} FROM generate_series(${from}, ${to}) AS g`,
      );
      progress(`${table}: ${to.toLocaleString('en')} / ${count.toLocaleString('en')}`);
    }
  } else {
    const sqlite: BetterSqlite3.Database = sqliteConnection(db);
    const insert = sqlite.prepare(`INSERT INTO "${table}" (${names}) VALUES (${chosen.map(() => '?').join(', ')})`);
    const chunk = sqlite.transaction((from: number, to: number) => {
      const row: unknown[] = new Array(chosen.length);
      for (let i = from; i <= to; i++) {
        for (let c = 0; c < chosen.length; c++) row[c] = sqliteValue(chosen[c]!.value.js(i));
        insert.run(row);
      }
    });
    for (let from = 1; from <= count; from += CHUNK) {
      const to = Math.min(count, from + CHUNK - 1);
      chunk(from, to);
      progress(`${table}: ${to.toLocaleString('en')} / ${count.toLocaleString('en')}`);
    }
  }
  progress(`${table}: ${count.toLocaleString('en')} rows added in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

/** Opens the database (TypeORM, as the BFF does) and runs the migrations. */
export async function openDatabase(databaseUrl: string): Promise<DataSource> {
  const db = new DataSource(dataSourceOptions(databaseUrl, []));
  await db.initialize();
  await db.runMigrations();
  return db;
}

export async function rowCounts(db: DataSource): Promise<Record<SeededTable, number>> {
  const counts = {} as Record<SeededTable, number>;
  for (const table of SEEDED_TABLES) {
    const [row] = (await db.query(`SELECT COUNT(*) AS n FROM "${table}"`)) as { n: number | string }[];
    counts[table] = Number(row?.n ?? 0);
  }
  return counts;
}

/** How many sessions the sessions purge would delete now (expired more than a day ago). */
export async function purgeableSessions(db: DataSource): Promise<number> {
  const cutoff = new Date(Date.now() - DAY_MS);
  const parameter = db.options.type === 'postgres' ? cutoff : sqliteValue(cutoff);
  const [row] = (await db.query(
    `SELECT COUNT(*) AS n FROM "sessions" WHERE "expires_at" < ${db.options.type === 'postgres' ? '$1' : '?'}`,
    [parameter],
  )) as { n: number | string }[];
  return Number(row?.n ?? 0);
}

/** Whether any session is left for the purge to delete (cheap: one index probe). */
export async function anyPurgeableSession(db: DataSource): Promise<boolean> {
  const cutoff = new Date(Date.now() - DAY_MS);
  const parameter = db.options.type === 'postgres' ? cutoff : sqliteValue(cutoff);
  const rows = (await db.query(
    `SELECT 1 AS "found" FROM "sessions" WHERE "expires_at" < ${db.options.type === 'postgres' ? '$1' : '?'} LIMIT 1`,
    [parameter],
  )) as unknown[];
  return rows.length > 0;
}

/** Adds the rows and answers the row counts afterwards. */
export async function seed(
  db: DataSource,
  counts: SeedCounts,
  progress: (text: string) => void = () => undefined,
): Promise<Record<SeededTable, number>> {
  const run = randomBytes(4).toString('hex');
  const [max] = (await db.query('SELECT COALESCE(MAX("uid"), 0) AS m FROM "connections"')) as { m: number | string }[];
  const uidBase = Math.max(10_000_000, Number(max?.m ?? 0));
  const connections = counts.connections ?? 0;
  await fill(
    db,
    'sessions',
    counts.sessions ?? 0,
    knownColumns('sessions', run, { uidBase, connections, connectionUidBase: uidBase }),
    progress,
  );
  await fill(
    db,
    'sessions',
    counts.expiredSessions ?? 0,
    knownColumns('sessions', `${run}x`, { expired: true, uidBase, connections, connectionUidBase: uidBase }),
    progress,
  );
  await fill(
    db,
    'connections',
    connections,
    knownColumns('connections', run, { uidBase, connections, connectionUidBase: uidBase }),
    progress,
  );
  // Events belong to the connections just added, or to the earlier seeded ones.
  const eventTargets = connections > 0 ? connections : Math.max(1, Number(max?.m ?? 0) - 10_000_000);
  const eventBase = connections > 0 ? uidBase : 10_000_000;
  await fill(
    db,
    'connection_events',
    counts.events ?? 0,
    knownColumns('connection_events', run, { uidBase, connections: eventTargets, connectionUidBase: eventBase }),
    progress,
  );
  if (db.options.type === 'postgres') await db.query('ANALYZE "sessions"; ANALYZE "connections"; ANALYZE "connection_events"');
  else sqliteConnection(db).exec('ANALYZE');
  return rowCounts(db);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [url, ...rest] = process.argv.slice(2);
  if (!url) {
    process.stderr.write(
      'usage: node dist/bench/seed.js <DATABASE_URL> [--sessions N] [--expired-sessions N] [--connections N] [--events N]\n',
    );
    process.exit(64);
  }
  const option = (name: string) => {
    const index = rest.indexOf(`--${name}`);
    return index >= 0 ? Number(rest[index + 1]) : 0;
  };
  const db = await openDatabase(url);
  const counts = await seed(
    db,
    {
      sessions: option('sessions'),
      expiredSessions: option('expired-sessions'),
      connections: option('connections'),
      events: option('events'),
    },
    (text) => process.stdout.write(`${text}\n`),
  );
  process.stdout.write(`row counts: ${SEEDED_TABLES.map((t) => `${t} ${counts[t].toLocaleString('en')}`).join(', ')}\n`);
  await db.destroy();
}
