import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import request from 'supertest';
import { afterAll, describe, expect, it } from 'vitest';
import { startTestApp } from './support/app.js';

/**
 * The SQLite database holds sessions, OIDC transactions and the encrypted member keys: its file and
 * the -wal and -shm files beside it are the owner's alone (0600) whatever the umask, and a folder
 * the BFF creates for them is 0700.
 */
describe('SQLite file modes', () => {
  const root = mkdtempSync(join(tmpdir(), 'bff-modes-'));
  const previousUmask = process.umask();
  afterAll(() => {
    process.umask(previousUmask);
    rmSync(root, { recursive: true, force: true });
  });
  const modeOf = (path: string) => statSync(path).mode & 0o777;

  it('creates the database, -wal and -shm files 0600 and a new folder 0700 under a permissive umask', async () => {
    process.umask(0o022);
    const file = join(root, 'new-folder', 'bff.sqlite');
    const t = await startTestApp({ DATABASE_URL: `sqlite:${file}` });
    try {
      // A request that writes, so the WAL is in use.
      expect((await request(t.url).post('/v1/auth/oidc/authorize').send({ intent: 'login' })).status).toBeLessThan(600);
      for (const path of [file, `${file}-wal`, `${file}-shm`]) {
        expect(existsSync(path), path).toBe(true);
        expect(modeOf(path).toString(8), path).toBe('600');
      }
      expect(modeOf(join(root, 'new-folder')).toString(8)).toBe('700');
    } finally {
      await t.close();
    }
  });

  it('narrows an existing world-readable database to 0600 when it opens it', async () => {
    process.umask(0o022);
    const file = join(root, 'old.sqlite');
    writeFileSync(file, '');
    chmodSync(file, 0o644);
    const t = await startTestApp({ DATABASE_URL: `sqlite:${file}` });
    try {
      expect(modeOf(file).toString(8)).toBe('600');
      expect(modeOf(`${file}-wal`).toString(8)).toBe('600');
    } finally {
      await t.close();
    }
  });
});
