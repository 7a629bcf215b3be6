/** `npm run migrate`: applies every pending migration to DATABASE_URL and exits. */
import { DataSource } from 'typeorm';
import { validateEnvironment } from '../src/config/environment.js';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';

async function main(): Promise<void> {
  const env = validateEnvironment(process.env);
  const db = new DataSource(dataSourceOptions(env.DATABASE_URL));
  await db.initialize();
  const applied = await db.runMigrations({ transaction: 'each' });
  await db.destroy();
  process.stdout.write(applied.length ? `applied ${applied.map((m) => m.name).join(', ')}\n` : 'database is up to date\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
