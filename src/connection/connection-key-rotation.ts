import type { DataSource } from 'typeorm';
import { DataKeyError, type DataKeyRing } from '../common/crypto/data-key-ring.js';
import { Connection, sealContext } from './connection.entity.js';
import { runInTransaction, type Statement } from './engine-transaction.js';

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
}

const MAX_PASSES = 5;

/**
 * Re-encrypts every stored member key under the ring's current key, in small batches, each in its own
 * transaction, while the BFF keeps serving (it decrypts with any key in the ring). Each row is
 * updated only if it is still exactly what was read, so a delivery stored meanwhile is never
 * overwritten with an older key; such a row is picked up by the next pass.
 */
export async function rotateConnectionKeys(dataSource: DataSource, ring: DataKeyRing, options: RotationOptions = {}): Promise<RotationReport> {
  const batchSize = Math.max(1, options.batchSize ?? 100);
  const log = options.log ?? (() => undefined);
  const repository = dataSource.getRepository(Connection);
  const before = await countByKeyId(dataSource);
  const unknownKeyIds = Object.keys(before).filter((id) => !ring.has(id));
  const report: RotationReport = { currentKeyId: ring.currentKeyId, rotated: 0, remaining: 0, before, unknownKeyIds, damaged: 0 };
  log(`current key id ${ring.currentKeyId}; rows by key id: ${JSON.stringify(before)}`);
  if (unknownKeyIds.length > 0) log(`no configured key for key id(s) ${unknownKeyIds.join(', ')}: add it to DATA_ENCRYPTION_KEYS_OLD to rotate those rows`);

  const rotatable = Object.keys(before).filter((id) => id !== ring.currentKeyId && ring.has(id));
  if (!options.dryRun && rotatable.length > 0) {
    const damaged = new Set<string>();
    for (let pass = 1; pass <= MAX_PASSES; pass++) {
      let cursor = '';
      let raced = 0;
      for (;;) {
        const batch = await repository
          .createQueryBuilder('c')
          .where('c.key_id IN (:...ids)', { ids: rotatable })
          .andWhere('c.connection_id > :cursor', { cursor })
          .orderBy('c.connection_id', 'ASC')
          .limit(batchSize)
          .getMany();
        if (batch.length === 0) break;
        cursor = batch[batch.length - 1]!.connectionId;
        const statements: Statement[] = [];
        for (const row of batch) {
          let sealed;
          try {
            sealed = ring.reseal({ keyId: row.keyId, iv: row.keyIv, tag: row.keyTag, ciphertext: row.keyCiphertext }, sealContext(row.connectionId));
          } catch (error) {
            if (!(error instanceof DataKeyError)) throw error;
            damaged.add(row.connectionId);
            continue;
          }
          statements.push(
            dataSource
              .createQueryBuilder()
              .update(Connection)
              .set({ keyId: sealed.keyId, keyIv: sealed.iv, keyTag: sealed.tag, keyCiphertext: sealed.ciphertext })
              .where('connection_id = :id AND key_id = :keyId AND key_ciphertext = :ciphertext', { id: row.connectionId, keyId: row.keyId, ciphertext: row.keyCiphertext })
              .updateEntity(false)
              .getQueryAndParameters(),
          );
        }
        const affected = statements.length > 0 ? await runInTransaction(dataSource, statements) : [];
        const changed = affected.filter((n) => n > 0).length;
        report.rotated += changed;
        raced += affected.length - changed;
        log(`pass ${pass}: re-encrypted ${report.rotated} so far (up to ${cursor})`);
      }
      if (raced === 0) break;
    }
    report.damaged = damaged.size;
    if (damaged.size > 0) log(`${damaged.size} row(s) failed authentication and were left as they are: ${[...damaged].slice(0, 10).join(', ')}`);
  }
  const after = await countByKeyId(dataSource);
  report.remaining = Object.entries(after).reduce((sum, [id, n]) => (id === ring.currentKeyId ? sum : sum + n), 0);
  log(`done: ${report.rotated} re-encrypted, ${report.remaining} not under the current key`);
  return report;
}

async function countByKeyId(dataSource: DataSource): Promise<Record<string, number>> {
  const rows = (await dataSource
    .getRepository(Connection)
    .createQueryBuilder('c')
    .select('c.key_id', 'keyId')
    .addSelect('COUNT(*)', 'n')
    .groupBy('c.key_id')
    .orderBy('c.key_id')
    .getRawMany()) as { keyId: string; n: number | string }[];
  return Object.fromEntries(rows.map((row) => [row.keyId, Number(row.n)]));
}
