import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { DataKeyRing } from '../../src/common/crypto/data-key-ring.js';
import { openText } from '../../src/common/crypto/sealed-text.js';
import { LOCAL_EMULATOR } from '../../src/config/environment.js';
import { eventContext } from '../../src/connection/connection.entity.js';

/** Helpers for the connection callback suites (test/connection*.e2e-spec.ts). */

export const NID = LOCAL_EMULATOR.connectionNid;
/** What Mydex sends in `Authentication`: the SHA-512 hex of the (development) Connection Token. */
export const CALLBACK_AUTH = createHash('sha512').update(LOCAL_EMULATOR.connectionToken).digest('hex');
export const TEST_DATA_KEY = Buffer.alloc(32, 7).toString('base64');

export interface CallbackFields {
  uid?: number;
  mydexid?: string;
  key?: string;
  connectionId?: string;
  extra?: string;
}

/** A form body as Mydex sends it (PHP-style nested keys). */
export function callbackForm(input: CallbackFields = {}): string {
  const uid = input.uid ?? 587;
  const parts = [
    `uid=${uid}`,
    `mydexid=${encodeURIComponent(input.mydexid ?? 'alice2024')}`,
    `key=${encodeURIComponent(input.key ?? 'member-key-0123456789abcdef')}`,
    `connection_id=${encodeURIComponent(input.connectionId ?? `${uid}-${NID}`)}`,
    'fields[field_ds_personal_details][0][][access][r][a]=1',
    'fields[field_ds_personal_details][0][][access][r][s]=A',
    'fields[field_ds_contact_details][0][][access][r][a]=1',
    'fields[field_ds_contact_details][0][][access][r][s]=A',
    'fields[field_ds_contact_details][0][][access][w][a]=0',
    'fields[field_ds_contact_details][0][][access][w][s]=R',
  ];
  return input.extra ? `${parts.join('&')}&${input.extra}` : parts.join('&');
}

export function callbackJson(input: CallbackFields = {}): Record<string, unknown> {
  const uid = input.uid ?? 587;
  return {
    uid,
    mydexid: input.mydexid ?? 'alice2024',
    key: input.key ?? 'member-key-0123456789abcdef',
    connection_id: input.connectionId ?? `${uid}-${NID}`,
    fields: { field_ds_personal_details: [[{ access: { r: { a: '1', s: 'A' } } }]] },
  };
}

export async function countRows(db: DataSource, table: 'connections' | 'connection_events'): Promise<number> {
  const [row] = (await db.query(`SELECT COUNT(*) AS n FROM ${table}`)) as { n: number | string }[];
  return Number(row!.n);
}

/** Every table of the database (the app's schema on PostgreSQL), with every row. */
export async function allRows(db: DataSource): Promise<Record<string, unknown[]>> {
  const postgres = db.options.type === 'postgres';
  const tables = (
    (await db.query(
      postgres
        ? "SELECT table_name AS name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        : "SELECT name FROM sqlite_master WHERE type = 'table'",
    )) as { name: string }[]
  ).map((row) => row.name);
  const rows: Record<string, unknown[]> = {};
  for (const table of tables) rows[table] = (await db.query(`SELECT * FROM "${table.replace(/"/g, '""')}"`)) as unknown[];
  return rows;
}

/** Every table of the database (the app's schema on PostgreSQL), with every row as text. */
export async function dumpAllTables(db: DataSource): Promise<Record<string, string>> {
  return Object.fromEntries(Object.entries(await allRows(db)).map(([table, rows]) => [table, JSON.stringify(rows)]));
}

/** The ring of TEST_DATA_KEY: opens what the app sealed (sealed-text.ts). */
export const TEST_RING = new DataKeyRing(Buffer.from(TEST_DATA_KEY, 'base64'));

/** A connection_events row with its sealed payload opened. */
export interface OpenedEvent {
  id: number;
  kind: string;
  method: string;
  connection_id: string | null;
  uid: number | null;
  content_type: string;
  request_id: string;
  status: string;
  reason: string | null;
  anomalies: string | null;
  /** The payload column as stored (sealed). */
  sealed: string;
  payload: Record<string, unknown>;
}

/** Every connection_events row, oldest first, its payload opened with TEST_RING. */
export async function openedEvents(db: DataSource): Promise<OpenedEvent[]> {
  const rows = (await db.query('SELECT * FROM connection_events ORDER BY id')) as Record<string, unknown>[];
  return rows.map((row) => ({
    ...(row as unknown as OpenedEvent),
    id: Number(row.id),
    uid: row.uid === null ? null : Number(row.uid),
    sealed: String(row.payload),
    payload: JSON.parse(openText(TEST_RING, String(row.payload), eventContext(String(row.request_id)))) as Record<string, unknown>,
  }));
}
