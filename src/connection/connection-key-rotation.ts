import type { DataSource } from 'typeorm';
import { DataKeyError, type DataKeyRing } from '../common/crypto/data-key-ring.js';
import { decodeSealed, isSealedText, SEALED_PREFIX, sealText } from '../common/crypto/sealed-text.js';
import { registrationEmailContext } from '../registration/registration.entity.js';
import {
  Connection,
  CONNECTION_COLUMNS,
  CONNECTION_EVENT_COLUMNS,
  CONNECTION_EVENTS,
  CONNECTIONS,
  eventContext,
  fieldsContext,
  sealContext,
} from './connection.entity.js';
import { SqlEngine, type Statement } from '../persistence/sql-engine.js';

export interface RotationOptions {
  /** Rows per transaction: small, so the BFF's own writes wait at most one short batch. */
  batchSize?: number;
  /** Only count what would be rotated. */
  dryRun?: boolean;
  log?: (line: string) => void;
}

export interface RotationReport {
  currentKeyId: string;
  rotated: number;
  /** Rows still not under the current key: unknown key ids, damaged rows, or rows racing a delivery. */
  remaining: number;
  /** Rows per key id before the run. */
  before: Record<string, number>;
  /** Key ids found in the table that no configured key matches. */
  unknownKeyIds: string[];
  damaged: number;
  /**
   * The sealed text columns (callback bodies, `fields`, registration emails): per `table.column`, values
   * re-sealed (or sealed for the first time: rows written before sealing) and values still not under
   * the current key (unknown key id or damaged).
   */
  sealed: Record<string, { rotated: number; remaining: number }>;
  /** Sum of `sealed[*].remaining`. */
  sealedRemaining: number;
}

const MAX_PASSES = 5;
const C = CONNECTIONS.c;
/** Re-seals one member key, only if the row still holds the key that was read (compare-and-swap). */
const ROTATE_KEY = `UPDATE ${CONNECTIONS.ref} SET ${C.keyId} = $1, ${C.keyIv} = $2, ${C.keyTag} = $3, ${C.keyCiphertext} = $4 WHERE ${C.connectionId} = $5 AND ${C.keyId} = $6 AND ${C.keyCiphertext} = $7`;

/**
 * Re-encrypts every stored member key under the ring's current key, in small batches, each in its own
 * transaction, while the BFF keeps serving (it decrypts with any key in the ring). Each row is
 * updated only if it is still exactly what was read, so a delivery stored meanwhile is never
 * overwritten with an older key; such a row is picked up by the next pass.
 */
export async function rotateConnectionKeys(
  dataSource: DataSource,
  ring: DataKeyRing,
  options: RotationOptions = {},
): Promise<RotationReport> {
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const log = options.log ?? (() => undefined);
  const repository = dataSource.getRepository(Connection);
  const before = await countByKeyId(dataSource);
  const unknownKeyIds = Object.keys(before).filter((id) => !ring.has(id));
  const report: RotationReport = {
    currentKeyId: ring.currentKeyId,
    rotated: 0,
    remaining: 0,
    before,
    unknownKeyIds,
    damaged: 0,
    sealed: {},
    sealedRemaining: 0,
  };
  log(`current key id ${ring.currentKeyId}; rows by key id: ${JSON.stringify(before)}`);
  if (unknownKeyIds.length > 0)
    log(`no configured key for key id(s) ${unknownKeyIds.join(', ')}: add it to DATA_ENCRYPTION_KEYS_OLD to rotate those rows`);

  const rotatable = Object.keys(before).filter((id) => id !== ring.currentKeyId && ring.has(id));
  if (!options.dryRun && rotatable.length > 0) {
    const damaged = new Set<string>();
    for (let pass = 1; pass <= MAX_PASSES; pass++) {
      let cursor = '';
      let raced = 0;
      for (;;) {
        const batch = await repository
          .createQueryBuilder('c')
          .where('c.keyId IN (:...ids)', { ids: rotatable })
          .andWhere('c.connectionId > :cursor', { cursor })
          .orderBy('c.connectionId', 'ASC')
          .limit(batchSize)
          .getMany();
        if (batch.length === 0) break;
        cursor = batch[batch.length - 1]!.connectionId;
        const statements: Statement[] = [];
        for (const row of batch) {
          let sealed;
          try {
            sealed = ring.reseal(
              { keyId: row.keyId, iv: row.keyIv, tag: row.keyTag, ciphertext: row.keyCiphertext },
              sealContext(row.connectionId),
            );
          } catch (error) {
            if (!(error instanceof DataKeyError)) throw error;
            damaged.add(row.connectionId);
            continue;
          }
          statements.push([
            ROTATE_KEY,
            [sealed.keyId, sealed.iv, sealed.tag, sealed.ciphertext, row.connectionId, row.keyId, row.keyCiphertext],
          ]);
        }
        const affected = statements.length > 0 ? await SqlEngine.of(dataSource).transaction(statements) : [];
        const changed = affected.filter((n) => n > 0).length;
        report.rotated += changed;
        raced += affected.length - changed;
        log(`pass ${pass}: re-encrypted ${report.rotated} so far (up to ${cursor})`);
      }
      if (raced === 0) break;
    }
    report.damaged = damaged.size;
    if (damaged.size > 0)
      log(`${damaged.size} row(s) failed authentication and were left as they are: ${[...damaged].slice(0, 10).join(', ')}`);
  }
  const after = await countByKeyId(dataSource);
  report.remaining = Object.entries(after).reduce((sum, [id, n]) => (id === ring.currentKeyId ? sum : sum + n), 0);
  for (const column of SEALED_COLUMNS) {
    const result = await rotateSealedColumn(dataSource, ring, column, batchSize, options.dryRun === true);
    report.sealed[`${column.table}.${column.column}`] = result;
    report.sealedRemaining += result.remaining;
    log(`${column.table}.${column.column}: ${result.rotated} sealed under the current key, ${result.remaining} not under it`);
  }
  log(
    `done: ${report.rotated} member keys re-encrypted, ${report.remaining} not under the current key; ${report.sealedRemaining} sealed values not under it`,
  );
  return report;
}

/** A text column sealed with sealed-text.ts, and how to find its authenticated-data context. */
interface SealedColumn {
  table: string;
  id: string;
  column: string;
  /** Other columns the context needs. */
  with: string[];
  context: (row: Record<string, unknown>) => string;
  /** A plaintext column of rows written before sealing: sealed into `column`, then emptied. */
  legacy?: string;
}

const SEALED_COLUMNS: SealedColumn[] = [
  {
    table: CONNECTIONS.name,
    id: CONNECTION_COLUMNS.connectionId,
    column: CONNECTION_COLUMNS.permissionsRaw,
    with: [],
    context: (row) => fieldsContext(String(row[CONNECTION_COLUMNS.connectionId])),
  },
  {
    table: CONNECTION_EVENTS.name,
    id: CONNECTION_EVENT_COLUMNS.id,
    column: CONNECTION_EVENT_COLUMNS.payload,
    with: [CONNECTION_EVENT_COLUMNS.requestId],
    context: (row) => eventContext(String(row[CONNECTION_EVENT_COLUMNS.requestId])),
  },
  {
    table: 'registrations',
    id: 'id',
    column: 'email_sealed',
    with: [],
    context: (row) => registrationEmailContext(String(row.id)),
    legacy: 'email',
  },
];

/**
 * Seals every value of one column under the current key, in batches by primary key, each batch in
 * one transaction; a row is rewritten only if the value is still the one read (compare-and-swap),
 * so a concurrent write is never overwritten with older data. Plaintext values (rows from before
 * sealing) are sealed; values under a key the ring lacks, or damaged, are left and counted.
 */
async function rotateSealedColumn(
  dataSource: DataSource,
  ring: DataKeyRing,
  spec: SealedColumn,
  batchSize: number,
  dryRun: boolean,
): Promise<{ rotated: number; remaining: number }> {
  const engine = SqlEngine.of(dataSource);
  const p = (n: number) => `$${n}`;
  const current = `${SEALED_PREFIX}${ring.currentKeyId}.%`;
  const stale = `(("${spec.column}" IS NOT NULL AND "${spec.column}" NOT LIKE ${p(1)})${spec.legacy ? ` OR "${spec.legacy}" IS NOT NULL` : ''})`;
  const columns = [spec.id, spec.column, ...spec.with, ...(spec.legacy ? [spec.legacy] : [])].map((name) => `"${name}"`).join(', ');
  const count = async () =>
    Number(((await engine.all(`SELECT COUNT(*) AS n FROM "${spec.table}" WHERE ${stale}`, [current])) as { n: number | string }[])[0]!.n);
  if (dryRun) return { rotated: 0, remaining: await count() };
  let rotated = 0;
  let cursor: string | number = spec.table === CONNECTION_EVENTS.name ? 0 : '';
  for (;;) {
    const batch = (await engine.all(
      `SELECT ${columns} FROM "${spec.table}" WHERE ${stale} AND "${spec.id}" > ${p(2)} ORDER BY "${spec.id}" LIMIT ${batchSize}`,
      [current, cursor],
    )) as Record<string, unknown>[];
    if (batch.length === 0) break;
    cursor = batch[batch.length - 1]![spec.id] as string | number;
    const statements: Statement[] = [];
    for (const row of batch) {
      const value = row[spec.column] as string | null;
      const legacy = spec.legacy ? (row[spec.legacy] as string | null) : null;
      let plaintext: string;
      try {
        if (value !== null && isSealedText(value)) {
          const sealed = decodeSealed(value)!;
          if (!ring.has(sealed.keyId)) continue;
          plaintext = ring.open(sealed, spec.context(row));
        } else {
          plaintext = (value ?? legacy)!;
        }
      } catch (error) {
        if (error instanceof DataKeyError) continue;
        throw error;
      }
      const next = sealText(ring, plaintext, spec.context(row));
      const clearLegacy = spec.legacy ? `, "${spec.legacy}" = NULL` : '';
      const same = value === null ? `"${spec.column}" IS NULL` : `"${spec.column}" = ${p(2)}`;
      const values = value === null ? [next, row[spec.id]] : [next, value, row[spec.id]];
      statements.push([
        `UPDATE "${spec.table}" SET "${spec.column}" = ${p(1)}${clearLegacy} WHERE ${same} AND "${spec.id}" = ${p(values.length)}`,
        values,
      ]);
    }
    if (statements.length > 0) rotated += (await engine.transaction(statements)).filter((n) => n > 0).length;
    if (batch.length < batchSize) break;
  }
  return { rotated, remaining: await count() };
}

async function countByKeyId(dataSource: DataSource): Promise<Record<string, number>> {
  const rows = (await dataSource
    .getRepository(Connection)
    .createQueryBuilder('c')
    .select('c.keyId', 'keyId')
    .addSelect('COUNT(*)', 'n')
    .groupBy('c.keyId')
    .orderBy('c.keyId')
    .getRawMany()) as { keyId: string; n: number | string }[];
  return Object.fromEntries(rows.map((row) => [row.keyId, Number(row.n)]));
}
