import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { type DataSource, IsNull, LessThan, type Repository } from 'typeorm';
import { sessionConfig } from '../config/session.config.js';
import { PeriodicPurge } from '../persistence/periodic-purge.js';
import { dateColumn, PreparedQuery } from '../persistence/prepared-query.js';
import { MemberSession, type SessionClient } from './member-session.entity.js';
import { isOpaqueToken, newOpaqueToken, sha256Hex } from './session-token.js';

export interface NewMemberSession {
  client: SessionClient;
  issuer: string;
  sub: string;
  mydexid: string | null;
  idToken: string | null;
}

/** Rows older than this past their expiry are deleted (opportunistically, at most every few minutes). */
const PURGE_EVERY_MS = 5 * 60 * 1000;

/** What a member request needs of its session (not the ID token, which only logout reads). */
export type ActiveSession = Omit<MemberSession, 'idToken' | 'tokenHash' | 'createdAt' | 'revokedAt'>;

interface ActiveSessionRow {
  id: string;
  client: SessionClient;
  issuer: string;
  sub: string;
  mydexid: string | null;
  expires_at: Date | string;
}

/**
 * Member sessions in the shared database, so every instance accepts a session any instance created
 * and a logout on one instance ends it on all.
 */
@Injectable()
export class SessionsService {
  /** A day of grace keeps recently ended sessions visible to operators. */
  private readonly purge = new PeriodicPurge('expired sessions', PURGE_EVERY_MS, (now) => this.sessions.delete({ expiresAt: LessThan(new Date(now - 24 * 3600 * 1000)) }));
  /** Every member request runs this, so it is a prepared statement rather than a TypeORM find. */
  private readonly activeByToken: PreparedQuery<ActiveSessionRow>;

  constructor(
    @InjectRepository(MemberSession) private readonly sessions: Repository<MemberSession>,
    @InjectDataSource() dataSource: DataSource,
    @Inject(sessionConfig.KEY) private readonly config: ConfigType<typeof sessionConfig>,
  ) {
    this.activeByToken = new PreparedQuery(
      dataSource,
      'SELECT "id", "client", "issuer", "sub", "mydexid", "expires_at" FROM "sessions" WHERE "token_hash" = $1 AND "client" = $2 AND "revoked_at" IS NULL',
    );
  }

  /** Creates a session; the returned token is the only copy of the secret. */
  async create(input: NewMemberSession): Promise<{ token: string; session: MemberSession }> {
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
      createdAt: now,
      expiresAt: new Date(now.getTime() + this.config.ttlSeconds * 1000),
      revokedAt: null,
    });
    await this.sessions.insert(session);
    return { token, session };
  }

  /** The live session for a token of the given client kind, or null (unknown, expired, revoked). */
  async findActive(token: unknown, client: SessionClient): Promise<ActiveSession | null> {
    if (!isOpaqueToken(token)) return null;
    const row = await this.activeByToken.first([sha256Hex(token), client]);
    if (!row) return null;
    const expiresAt = dateColumn(row.expires_at);
    // Also refuses an expiry that does not parse (NaN compares false both ways).
    if (!(expiresAt.getTime() > Date.now())) return null;
    return { id: row.id, client: row.client, issuer: row.issuer, sub: row.sub, mydexid: row.mydexid, expiresAt };
  }

  /**
   * Ends a session everywhere (every instance reads the same row). Returns its ID token (for the
   * logout hint) when it was live, null when it had already ended.
   */
  async end(id: string): Promise<{ idToken: string | null } | null> {
    const session = await this.sessions.findOneBy({ id });
    if (!session) return null;
    const result = await this.sessions.update({ id, revokedAt: IsNull() }, { revokedAt: new Date(), idToken: null });
    return (result.affected ?? 0) > 0 ? { idToken: session.idToken } : null;
  }
}
