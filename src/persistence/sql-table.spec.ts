import { describe, expect, it } from 'vitest';
import { CONNECTIONS } from '../connection/connection.entity.js';
import { SESSIONS } from '../session/member-session.entity.js';
import { insertStatement, selectColumns } from './sql-table.js';

const NOW = new Date('2026-12-05T12:00:00.000Z');

describe("sql-table: statements from a table's column map", () => {
  it('an insert names each column once, with its placeholder and its value in the same position', () => {
    const [sql, values] = insertStatement(SESSIONS, { id: 's1', tokenHash: 'h', client: 'web', expiresAt: NOW, revokedAt: null });
    expect(sql).toBe('INSERT INTO "sessions" ("id", "token_hash", "client", "expires_at", "revoked_at") VALUES ($1, $2, $3, $4, $5)');
    expect(values).toEqual(['s1', 'h', 'web', NOW, null]);
  });

  it('an upsert overwrites every written column but the conflict key and those kept', () => {
    const [sql] = insertStatement(
      CONNECTIONS,
      { connectionId: 'c', uid: 1, version: 2, createdAt: NOW, updatedAt: NOW },
      { conflict: 'connectionId', keep: ['createdAt'] },
    );
    expect(sql).toBe(
      'INSERT INTO "connections" ("connection_id", "uid", "version", "created_at", "updated_at") VALUES ($1, $2, $3, $4, $5) ' +
        'ON CONFLICT ("connection_id") DO UPDATE SET "uid" = EXCLUDED."uid", "version" = EXCLUDED."version", "updated_at" = EXCLUDED."updated_at"',
    );
  });

  it('the same keys give the same SQL text (one prepared statement), other keys other text', () => {
    const first = insertStatement(SESSIONS, { id: 'a', sub: 'x' })[0];
    expect(insertStatement(SESSIONS, { id: 'b', sub: 'y' })[0]).toBe(first);
    expect(insertStatement(SESSIONS, { sub: 'y', id: 'b' })[0]).not.toBe(first);
  });

  it('selects columns under their property names', () => {
    expect(selectColumns(SESSIONS, ['id', 'lastSeenAt'])).toBe('"id" AS "id", "last_seen_at" AS "lastSeenAt"');
  });

  it('a value of the wrong type, or two values swapped, does not compile (npm run typecheck checks these lines)', () => {
    // @ts-expect-error a Date where the string column mydexid is expected
    insertStatement(CONNECTIONS, { mydexid: NOW });
    // @ts-expect-error uid (number) and mydexid (string) swapped
    insertStatement(CONNECTIONS, { uid: 'alice1', mydexid: 601 });
    // @ts-expect-error a column the table does not have
    insertStatement(SESSIONS, { tokenHsh: 'h' });
    // @ts-expect-error text where the date column expires_at is expected
    insertStatement(SESSIONS, { expiresAt: '2026-12-05' });
    expect(insertStatement(CONNECTIONS, { uid: 601, mydexid: 'alice1' })[1]).toEqual([601, 'alice1']);
  });
});
