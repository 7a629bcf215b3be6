/**
 * `npm run connections -- quarantine [apply <id> | drop <id>]`: lists, applies or drops the callback
 * deliveries the BFF stored but did not apply (a MydexID moving to another uid, a replay, an older
 * version, no usable MydexID). Same environment as the BFF (DATABASE_URL, DATA_ENCRYPTION_KEY[S_OLD],
 * MYDEX_CONNECTION_NID, MYDEX_CONNECTION_VERSION). Procedure: docs/connections.md, "Quarantined deliveries".
 */
import { DataSource } from 'typeorm';
import { loadDataKeyRing } from '../src/common/crypto/data-key-ring.js';
import { splitList, validateEnvironment } from '../src/config/environment.js';
import { Connection, ConnectionEvent } from '../src/connection/connection.entity.js';
import { ConnectionRepository } from '../src/connection/connection.repository.js';
import { runConnectionsCommand } from '../src/connection/connections-command.js';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';

async function main(): Promise<number> {
  const env = validateEnvironment(process.env);
  const { ring } = loadDataKeyRing({
    key: env.DATA_ENCRYPTION_KEY,
    oldKeys: splitList(env.DATA_ENCRYPTION_KEYS_OLD),
    keyFile: env.DATA_ENCRYPTION_KEY_FILE,
    production: env.NODE_ENV === 'production',
  });
  const db = new DataSource(dataSourceOptions(env.DATABASE_URL, [Connection, ConnectionEvent]));
  await db.initialize();
  try {
    if (await db.showMigrations()) throw new Error('The database has pending migrations: run `npm run migrate` (or start the BFF) first.');
    const settings = { configuredVersion: env.MYDEX_CONNECTION_VERSION, connectionNid: env.MYDEX_CONNECTION_NID };
    // scripts/start.js passes its mode flag through; the command's arguments follow it.
    const args = process.argv.slice(2).filter((arg) => arg !== '--connections');
    return await runConnectionsCommand(args, new ConnectionRepository(db, ring), settings, (line) => process.stdout.write(`${line}\n`));
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
