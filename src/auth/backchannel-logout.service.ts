import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { QueryFailedError, LessThan, type Repository } from 'typeorm';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { EventOrigin } from '../events/domain-events.js';
import { PeriodicPurge } from '../persistence/periodic-purge.js';
import { sha256Hex } from '../session/session-token.js';
import { SessionsService } from '../session/sessions.service.js';
import { TransactionalEvents } from '../webhooks/transactional-events.js';
import { LogoutTokenJti } from './logout-token-jti.entity.js';
import { LogoutTokenRejected, LogoutTokenVerifier } from './logout-token.verifier.js';

const PURGE_EVERY_MS = 5 * 60 * 1000;

/**
 * OpenID Connect Back-Channel Logout 1.0 at the relying party: Mydex POSTs a logout token when a
 * member logs out there (or Mydex ends their session); every session of that member (or of that
 * Mydex session, `sid`) ends on every instance. A token is accepted once (`jti`).
 */
@Injectable()
export class BackchannelLogoutService {
  private readonly logger = new Logger(BackchannelLogoutService.name);
  private readonly purge = new PeriodicPurge('used logout token ids', PURGE_EVERY_MS, (now) =>
    this.jtis.delete({ expiresAt: LessThan(new Date(now)) }),
  );

  constructor(
    private readonly verifier: LogoutTokenVerifier,
    private readonly sessions: SessionsService,
    @InjectRepository(LogoutTokenJti) private readonly jtis: Repository<LogoutTokenJti>,
    private readonly events: TransactionalEvents,
  ) {}

  /**
   * Verifies the token, uses up its `jti`, and ends the sessions it names; answers how many ended.
   * Publishes `member.logged_out` (reason `backchannel`) when any did.
   */
  async logout(token: unknown, origin: EventOrigin = {}): Promise<number> {
    if (typeof token !== 'string' || token === '' || token.length > 16384) throw refused('logout_token is missing or not a single string');
    let verified;
    try {
      verified = await this.verifier.verify(token);
    } catch (error) {
      if (!(error instanceof LogoutTokenRejected)) throw error;
      this.logger.warn({ reason: error.reason }, 'back-channel logout token refused');
      throw refused(`The logout token was refused: ${error.reason}.`);
    }
    this.purge.maybeRun();
    const now = new Date();
    try {
      await this.jtis.insert({
        jtiHash: sha256Hex(`${verified.issuer}\n${verified.jti}`),
        receivedAt: now,
        expiresAt: verified.usableUntil,
      });
    } catch (error) {
      if (!isUniqueViolation(error)) throw error;
      this.logger.warn({ reason: 'jti replayed' }, 'back-channel logout token refused');
      throw refused('The logout token was already used.');
    }
    // member.logged_out, its webhook row written with the sessions' end, when any ended.
    const ended = await this.sessions.endByLogoutToken({ issuer: verified.issuer, sub: verified.sub, sid: verified.sid }, (sessionsEnded) =>
      this.events.prepare('member.logged_out', {
        reason: 'backchannel',
        issuer: verified.issuer,
        sub: verified.sub ?? null,
        mydexid: null,
        sessionId: null,
        sid: verified.sid ?? null,
        sessionsEnded,
        occurredAt: now.toISOString(),
        requestId: origin.requestId,
      }),
    );
    this.logger.log({ ended, bySid: verified.sid !== undefined, bySub: verified.sub !== undefined }, 'back-channel logout');
    return ended;
  }
}

function refused(detail: string): ProblemException {
  return new ProblemException('logout_token_invalid', detail);
}

function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: unknown } | undefined)?.code;
  // PostgreSQL unique_violation; better-sqlite3 primary-key constraint.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
