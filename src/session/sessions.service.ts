import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { type DataSource, IsNull, type Repository } from 'typeorm';
import { sessionConfig } from '../config/session.config.js';
import { PeriodicPurge } from '../persistence/periodic-purge.js';
import { deleteInBatches, PreparedQuery } from '../persistence/prepared-query.js';
import { dateColumn, SqlEngine, type Statement } from '../persistence/sql-engine.js';
import { SessionConnectionStatus } from './connection-status.js';
import { insertStatement, selectColumns, type ReadRow } from '../persistence/sql-table.js';
import type { PreparedEvent } from '../webhooks/transactional-events.js';
import { MemberSession, SESSION_COLUMNS, SESSIONS, type SessionClient } from './member-session.entity.js';
import { isOpaqueToken, newOpaqueToken, sha256Hex } from './session-token.js';

export interface NewMemberSession {
  client: SessionClient;
  issuer: string;
  sub: string;
  mydexid: string | null;
  idToken: string | null;
  /** The ID token's `sid` claim, when Mydex sent one (back-channel logout may name it). */
  sid?: string | null;
}

/** What a back-channel logout token names: the member (`sub`), Mydex's session (`sid`), or both. */
export interface LogoutTarget {
  issuer: string;
  sub?: string;
  sid?: string;
}

/** Rows older than this past their expiry are deleted (opportunistically, at most every few minutes). */
const PURGE_EVERY_MS = 5 * 60 * 1000;
/**
 * A session's `last_seen_at` is written at most this often, so most member requests stay one read.
 * The idle timeout therefore ends a session between SESSION_IDLE_SECONDS − 60 s and
 * SESSION_IDLE_SECONDS after its last request.
 */
export const TOUCH_EVERY_MS = 60 * 1000;

/** What a member request needs of its session (not the ID token, which only logout reads). */
export type ActiveSession = Omit<MemberSession, 'idToken' | 'tokenHash' | 'createdAt' | 'revokedAt' | 'sid' | 'lastSeenAt'>;

const S = SESSIONS.c;
const ACTIVE_SESSION_KEYS = ['id', 'client', 'issuer', 'sub', 'mydexid', 'expiresAt', 'lastSeenAt'] as const;

type ActiveSessionRow = ReadRow<Pick<MemberSession, (typeof ACTIVE_SESSION_KEYS)[number]>> & {
  /** Only with the connection check: a boolean from PostgreSQL, 0 or 1 from SQLite. */
  connected?: boolean | number;
};

const ACTIVE_SESSION_COLUMNS = selectColumns(SESSIONS, ACTIVE_SESSION_KEYS);
/** Ending sessions: revoked now, the ID token dropped (it was only kept for the logout hint). */
const END_SESSIONS = `UPDATE ${SESSIONS.ref} SET ${S.revokedAt} = $1, ${S.idToken} = NULL WHERE ${S.revokedAt} IS NULL`;

/**
 * The `member.logged_out` a logout announces once it has ended `ended` (> 0) sessions: its webhook
 * row is written in the same transaction as the sessions' end (TransactionalEvents).
 */
export type LoggedOut = (ended: number) => PreparedEvent;
const ACTIVE_SESSION_WHERE = `${S.tokenHash} = $1 AND ${S.client} = $2 AND ${S.revokedAt} IS NULL`;

/**
 * Member sessions in the shared database, so every instance accepts a session any instance created
 * and a logout on one instance ends it on all.
 */
@Injectable()
export class SessionsService {
  /**
   * A day of grace keeps recently ended sessions visible to operators. In batches (by the expires_at
   * index): a backlog of a million expired sessions is deleted without holding up member requests.
   */
  private readonly purge = new PeriodicPurge('expired sessions', PURGE_EVERY_MS, (now) =>
    deleteInBatches(this.dataSource, SESSIONS.name, SESSION_COLUMNS.id, `${S.expiresAt} < $1`, [new Date(now - 24 * 3600 * 1000)]),
  );
  /** Every member request runs this, so it is a prepared statement rather than a TypeORM find. */
  private readonly activeByToken: PreparedQuery<ActiveSessionRow>;
  /**
   * The same, with the member's `connected` in the same statement (GET /v1/session): built on first
   * use, once the Connection module has registered its check (SessionConnectionStatus).
   */
  private activeWithConnection: PreparedQuery<ActiveSessionRow> | undefined;
  private readonly sql: SqlEngine;
  /** The sliding idle timeout's write, at most once a minute per session (TOUCH_EVERY_MS). */
  private readonly touch: PreparedQuery<{ id: string }>;

  constructor(
    @InjectRepository(MemberSession) private readonly sessions: Repository<MemberSession>,
    @InjectDataSource() private readonly dataSource: DataSource,
    @Inject(sessionConfig.KEY) private readonly config: ConfigType<typeof sessionConfig>,
    private readonly connectionStatus: SessionConnectionStatus,
  ) {
    this.sql = SqlEngine.of(dataSource);
    this.activeByToken = new PreparedQuery(
      dataSource,
      `SELECT ${ACTIVE_SESSION_COLUMNS} FROM ${SESSIONS.ref} WHERE ${ACTIVE_SESSION_WHERE}`,
    );
    // RETURNING lets the driver run the write as a query (SQLite 3.35+ and PostgreSQL both have it).
    this.touch = new PreparedQuery(
      dataSource,
      `UPDATE ${SESSIONS.ref} SET ${S.lastSeenAt} = $1 WHERE ${S.id} = $2 AND ${S.revokedAt} IS NULL RETURNING ${S.id}`,
    );
  }

  /**
   * Creates a session; the returned token is the only copy of the secret. `loggedIn`: the
   * `member.logged_in` it announces, its webhook row written with the session.
   */
  async create(
    input: NewMemberSession,
    loggedIn?: (session: MemberSession) => PreparedEvent,
  ): Promise<{ token: string; session: MemberSession }> {
    this.purge.maybeRun();
    const token = newOpaqueToken();
    const now = new Date();
    const session = this.sessions.create({
      id: randomUUID(),
      tokenHash: sha256Hex(token),
      client: input.client,
      issuer: input.issuer,
      sub: input.sub,
      mydexid: input.mydexid,
      idToken: input.idToken,
      sid: input.sid ?? null,
      createdAt: now,
      lastSeenAt: now,
      expiresAt: new Date(now.getTime() + this.config.ttlSeconds * 1000),
      revokedAt: null,
    });
    const event = loggedIn?.(session);
    await this.sql.writeAtomically([insertStatement(SESSIONS, { ...session }), ...(event?.statements ?? [])]);
    event?.committed();
    return { token, session };
  }

  /**
   * The live session for a token of the given client kind, or null (unknown, expired, idle for
   * longer than SESSION_IDLE_SECONDS, revoked). One read; once a minute per session also a write of
   * `last_seen_at` (the idle timeout slides).
   */
  async findActive(
    token: unknown,
    client: SessionClient,
    options: { connected?: boolean } = {},
  ): Promise<(ActiveSession & { connected?: boolean }) | null> {
    if (!isOpaqueToken(token)) return null;
    const withConnection = options.connected ? this.withConnectionQuery() : null;
    const row = await (withConnection ?? this.activeByToken).first([sha256Hex(token), client]);
    if (!row) return null;
    const now = Date.now();
    const expiresAt = dateColumn(row.expiresAt);
    // Also refuses an expiry that does not parse (NaN compares false both ways).
    if (!(expiresAt.getTime() > now)) return null;
    // A row written before last_seen_at existed counts as seen now.
    const lastSeen = row.lastSeenAt === null ? Number.NaN : dateColumn(row.lastSeenAt).getTime();
    if (row.lastSeenAt !== null && !(now - lastSeen <= this.config.idleSeconds * 1000)) return null;
    if (!(now - lastSeen < TOUCH_EVERY_MS)) await this.touch.all([new Date(now), row.id]);
    const session = { id: row.id, client: row.client, issuer: row.issuer, sub: row.sub, mydexid: row.mydexid, expiresAt };
    return withConnection ? { ...session, connected: row.connected === true || row.connected === 1 } : session;
  }

  /** The lookup with the connection check joined in, or null while no check is registered. */
  private withConnectionQuery(): PreparedQuery<ActiveSessionRow> | null {
    if (this.activeWithConnection === undefined) {
      const connected = this.connectionStatus.sql(`${SESSIONS.ref}.${S.mydexid}`);
      if (connected === undefined) return null;
      this.activeWithConnection = new PreparedQuery(
        this.dataSource,
        `SELECT ${ACTIVE_SESSION_COLUMNS}, ${connected} AS "connected" FROM ${SESSIONS.ref} WHERE ${ACTIVE_SESSION_WHERE}`,
      );
    }
    return this.activeWithConnection;
  }

  /**
   * Ends the session a token names, if it is live (a browser logging in again ends its previous
   * session). Answers whether one was ended.
   */
  async endByToken(token: unknown, client: SessionClient): Promise<boolean> {
    if (!isOpaqueToken(token)) return false;
    const result = await this.sessions.update(
      { tokenHash: sha256Hex(token), client, revokedAt: IsNull() },
      { revokedAt: new Date(), idToken: null },
    );
    return (result.affected ?? 0) > 0;
  }

  /**
   * Ends every live session of a member (logout-all), and answers the ID token of the session
   * `currentId` (the logout hint) when it was among them.
   */
  async endAllOfMember(
    member: { issuer: string; sub: string },
    currentId: string,
    loggedOut?: LoggedOut,
  ): Promise<{ ended: number; idToken: string | null }> {
    const current = await this.sessions.findOneBy({ id: currentId });
    const ended = await this.endWhere(`${S.issuer} = $2 AND ${S.sub} = $3`, [member.issuer, member.sub], loggedOut);
    return { ended, idToken: ended > 0 && current?.revokedAt === null ? current.idToken : null };
  }

  /**
   * Ends the sessions a back-channel logout token names: with `sub` and `sid`, the member's sessions
   * of that Mydex session (and those whose `sid` is unknown, which cannot be told apart [I]); with
   * `sub` alone, every session of the member; with `sid` alone, every session of that Mydex session.
   * Answers how many were ended.
   */
  async endByLogoutToken(target: LogoutTarget, loggedOut?: LoggedOut): Promise<number> {
    const { sub, sid } = target;
    if (sub === undefined && sid === undefined) return 0;
    if (sub !== undefined && sid !== undefined)
      return this.endWhere(
        `${S.issuer} = $2 AND ${S.sub} = $3 AND (${S.sid} = $4 OR ${S.sid} IS NULL)`,
        [target.issuer, sub, sid],
        loggedOut,
      );
    if (sub !== undefined) return this.endWhere(`${S.issuer} = $2 AND ${S.sub} = $3`, [target.issuer, sub], loggedOut);
    return this.endWhere(`${S.issuer} = $2 AND ${S.sid} = $3`, [target.issuer, sid], loggedOut);
  }

  /**
   * Ends a session everywhere (every instance reads the same row). Returns its ID token (for the
   * logout hint) when it was live, null when it had already ended.
   */
  async end(id: string, loggedOut?: LoggedOut): Promise<{ idToken: string | null } | null> {
    const session = await this.sessions.findOneBy({ id });
    if (!session) return null;
    return (await this.endWhere(`${S.id} = $2`, [id], loggedOut)) > 0 ? { idToken: session.idToken } : null;
  }

  /**
   * Ends the live sessions `where` selects (its placeholders from $2; $1 is the time) and answers how
   * many; with `loggedOut`, its webhook row in the same transaction when any ended, and the domain
   * event once committed.
   */
  private async endWhere(where: string, values: unknown[], loggedOut?: LoggedOut): Promise<number> {
    let event: PreparedEvent | undefined;
    const announce = (changed: readonly number[]): Statement[] => {
      if (!loggedOut || changed[0] === 0) return [];
      event = loggedOut(changed[0]);
      return event.statements;
    };
    const [ended] = await this.sql.transaction([[`${END_SESSIONS} AND ${where}`, [new Date(), ...values]], announce]);
    event?.committed();
    return ended;
  }
}
