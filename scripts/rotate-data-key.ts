/**
 * `npm run rotate-data-key`: re-encrypts every stored member key and every sealed value (callback
 * bodies in connection_events, `fields` in connections, registration emails) under
 * DATA_ENCRYPTION_KEY, reading the old ones with DATA_ENCRYPTION_KEYS_OLD, in small batches while the
 * BFF keeps serving. Values written before sealing existed (plaintext) are sealed on the way.
 * Options: `--batch-size=<n>` (default 100), `--dry-run` (only count rows per key id).
 * Exit status 0 when every row and value is under the current key, 2 when some are not (see the output).
 * Procedure: docs/connections.md, "Rotating the data encryption key".
 */
import { DataSource } from 'typeorm';
import { loadDataKeyRing } from '../src/common/crypto/data-key-ring.js';
import { splitList, validateEnvironment } from '../src/config/environment.js';
import { rotateConnectionKeys } from '../src/connection/connection-key-rotation.js';
import { Connection, ConnectionEvent } from '../src/connection/connection.entity.js';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const batchArg = args.find((arg) => arg.startsWith('--batch-size='));
  const batchSize = batchArg ? Number(batchArg.slice('--batch-size='.length)) : 100;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000)
    throw new Error('--batch-size must be an integer from 1 to 10000');
  const env = validateEnvironment(process.env);
  const { ring, generatedFile } = loadDataKeyRing({
    key: env.DATA_ENCRYPTION_KEY,
    oldKeys: splitList(env.DATA_ENCRYPTION_KEYS_OLD),
    keyFile: env.DATA_ENCRYPTION_KEY_FILE,
    production: env.NODE_ENV === 'production',
  });
  if (generatedFile)
    process.stdout.write(`DATA_ENCRYPTION_KEY is not set: the current key is the development key in ${generatedFile.path}\n`);
  const db = new DataSource(dataSourceOptions(env.DATABASE_URL, [Connection, ConnectionEvent]));
  await db.initialize();
  try {
    if (await db.showMigrations()) throw new Error('The database has pending migrations: run `npm run migrate` (or start the BFF) first.');
    const report = await rotateConnectionKeys(db, ring, {
      batchSize,
      dryRun: args.includes('--dry-run'),
      log: (line) => process.stdout.write(`${line}\n`),
    });
    return report.remaining === 0 && report.sealedRemaining === 0 ? 0 : 2;
  } finally {
    await db.destroy();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
