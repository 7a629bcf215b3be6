#!/usr/bin/env node
// `npm start`: builds when the compiled output is missing or older than the sources, then runs.
//   npm start                 the BFF (beside the local Mydex emulator when MYDEX_ISSUER is unset)
//   npm run emulator          the emulator alone
//   npm run migrate           apply migrations and exit
//   npm run rotate-data-key   re-encrypt stored member keys under DATA_ENCRYPTION_KEY and exit
//   npm run connections -- quarantine [apply <id> | drop <id>]   the quarantined callback deliveries
//   npm run invitations -- create --email <address>   a single-use invitation link to register
//   npm run doctor            check the Mydex, database and Redis settings and exit (0: ready, 1: not)
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const entry = join(root, 'dist/src/main.js');

function newestMtime(dir) {
  let newest = 0;
  if (!existsSync(dir)) return newest;
  for (const name of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, name.name);
    if (name.isDirectory()) newest = Math.max(newest, newestMtime(path));
    else if (/\.(ts|html|css|js)$/.test(name.name) && !/\.spec\.ts$/.test(name.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

const sources = Math.max(...['src', 'emulator', 'scripts', 'bench'].map((d) => newestMtime(join(root, d))));
if (!existsSync(entry) || statSync(entry).mtimeMs < sources) {
  process.stdout.write('Building (sources changed since the last build)…\n');
  const nest = join(root, 'node_modules/.bin/nest');
  const result = spawnSync(nest, ['build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

const mode = process.argv[2];
if (mode === '--emulator-only') await import(join(root, 'dist/emulator/main.js'));
else if (mode === '--migrate-only') await import(join(root, 'dist/scripts/migrate.js'));
else if (mode === '--rotate-data-key') await import(join(root, 'dist/scripts/rotate-data-key.js'));
else if (mode === '--connections') await import(join(root, 'dist/scripts/connections.js'));
else if (mode === '--invitations') await import(join(root, 'dist/scripts/invitations.js'));
else if (mode === '--doctor') await import(join(root, 'dist/scripts/doctor.js'));
else await import(entry);
