import { createHash } from 'node:crypto';
import type { DataSource } from 'typeorm';
import { LOCAL_EMULATOR } from '../../src/config/environment.js';

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
