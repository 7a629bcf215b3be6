/**
 * `npm run invitations -- create --email <address> [--days <n>] [--page <url>]`: creates a single-use
 * invitation to register and prints its link. Same environment as the BFF (DATABASE_URL,
 * DATA_ENCRYPTION_KEY[S_OLD], FRONTEND_ORIGINS). Usage: src/registration/strategies/invitation/invitations-command.ts.
 */
import { DataSource } from 'typeorm';
import { loadDataKeyRing } from '../src/common/crypto/data-key-ring.js';
import { splitList, validateEnvironment } from '../src/config/environment.js';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { Invitation } from '../src/registration/strategies/invitation/invitation.entity.js';
import { runInvitationsCommand } from '../src/registration/strategies/invitation/invitations-command.js';
import { InvitationsService } from '../src/registration/strategies/invitation/invitations.service.js';

async function main(): Promise<number> {
  const env = validateEnvironment(process.env);
  const { ring } = loadDataKeyRing({
    key: env.DATA_ENCRYPTION_KEY,
    oldKeys: splitList(env.DATA_ENCRYPTION_KEYS_OLD),
    keyFile: env.DATA_ENCRYPTION_KEY_FILE,
    production: env.NODE_ENV === 'production',
  });
  const db = new DataSource(dataSourceOptions(env.DATABASE_URL, [Invitation]));
  await db.initialize();
  try {
    if (await db.showMigrations()) throw new Error('The database has pending migrations: run `npm run migrate` (or start the BFF) first.');
    const invitations = new InvitationsService(db.getRepository(Invitation), ring);
    const [frontend] = splitList(env.FRONTEND_ORIGINS);
    // scripts/start.js passes its mode flag through; the command's arguments follow it.
    const args = process.argv.slice(2).filter((arg) => arg !== '--invitations');
    return await runInvitationsCommand(args, invitations, `${new URL(frontend!).origin}/invitation`, (line) =>
      process.stdout.write(`${line}\n`),
    );
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
