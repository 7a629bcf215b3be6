import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../emulator/testing/free-port.js';

/**
 * A PostgreSQL cluster of the test's own (initdb in a temp folder, its own port and socket), so a
 * fault suite can stop and restart it without touching the shared server on 5432. Needs the
 * PostgreSQL server binaries and root (the cluster runs as the `postgres` user).
 */

export interface PrivatePostgres {
  url: string;
  start(): void;
  stop(): void;
  remove(): void;
}

/** The server binaries' folder, or a reason why a private cluster cannot run here. */
export function postgresBinaries(): { bin: string } | { missing: string } {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).sort((a, b) => Number(b) - Number(a)) : [];
  const bin = versions.map((v) => join(root, v, 'bin')).find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'pg_ctl')));
  if (!bin) return { missing: `no PostgreSQL server binaries (initdb, pg_ctl) under ${root}` };
  if (process.getuid?.() !== 0) return { missing: 'not running as root (the private cluster runs as the postgres user)' };
  try {
    execFileSync('id', ['postgres'], { stdio: 'ignore' });
  } catch {
    return { missing: 'no postgres system user' };
  }
  return { bin };
}

export async function createPrivatePostgres(bin: string): Promise<PrivatePostgres> {
  const dir = mkdtempSync(join(tmpdir(), 'bff-pg-'));
  chmodSync(dir, 0o700);
  const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
  chownSync(dir, uid, gid);
  const data = join(dir, 'data');
  const port = await freePort();
  const asPostgres = (command: string) =>
    execFileSync('su', ['postgres', '-s', '/bin/sh', '-c', command], { stdio: 'pipe', timeout: 60_000 });
  asPostgres(`${bin}/initdb -D ${data} -A trust -U postgres --no-sync >/dev/null`);
  const pgCtl = (action: string) =>
    asPostgres(
      `${bin}/pg_ctl -D ${data} -o "-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off" -l ${dir}/server.log -w -t 30 ${action}`,
    );
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    start: () => pgCtl('start'),
    stop: () => pgCtl('stop -m fast'),
    remove: () => {
      try {
        pgCtl('stop -m immediate');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
