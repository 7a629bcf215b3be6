import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, type Repository } from 'typeorm';
import { PeriodicPurge } from '../../persistence/periodic-purge.js';
import { deleteInBatches } from '../../persistence/prepared-query.js';
import { SqlEngine } from '../../persistence/sql-engine.js';
import { insertStatement } from '../../persistence/sql-table.js';
import { isOpaqueToken, newOpaqueToken, sha256Hex } from '../../session/session-token.js';
import type { OidcRequest } from './oidc-request.js';
import {
  OIDC_TRANSACTION_COLUMNS,
  OIDC_TRANSACTIONS,
  OidcTransaction,
  type OidcClient,
  type OidcIntent,
} from './oidc-transaction.entity.js';
import { asError, settle } from './passport-bridge.js';

/** A transaction lives 10 minutes from the authorization request. */
export const TRANSACTION_TTL_MS = 10 * 60 * 1000;
/** The native app has this long to exchange its one-time code. */
export const EXCHANGE_CODE_TTL_MS = 5 * 60 * 1000;
const PURGE_EVERY_MS = 5 * 60 * 1000;
const T = OIDC_TRANSACTIONS.c;

/** What the relying party stores with a new authorization request (passport's `appState`). */
export interface PendingTransaction {
  id: string;
  intent: OidcIntent;
  client: OidcClient;
  returnTo: string | null;
  appRedirectUri: string | null;
  codeVerifier: string;
  nonce: string;
  browserBindingHash: string | null;
  exchangeSecretHash: string | null;
}

export type TransactionRefusal = 'state_invalid' | 'state_reused' | 'transaction_expired' | 'browser_mismatch';

export type ConsumeResult =
  { ok: true; transaction: OidcTransaction } | { ok: false; code: TransactionRefusal; transaction: OidcTransaction | undefined };

export interface AuthenticatedMemberIdentity {
  issuer: string;
  sub: string;
  mydexid: string | null;
  idToken: string;
}

type StoreCallback = (error: Error | null, handle?: string) => void;
type VerifyCallback = (error: Error | null, ctx?: false | object, state?: unknown) => void;

/**
 * passport-openidconnect's state store (its `store` option), in the shared database instead of
 * `req.session`: any instance can finish a flow another started; each state is used at most once
 * (an atomic `UPDATE … WHERE consumed_at IS NULL`); a transaction lives 10 minutes; a web
 * transaction is only accepted from the browser holding its binding cookie.
 */
@Injectable()
export class OidcTransactionStore {
  /**
   * An hour past expiry keeps "expired" distinguishable from "unknown" for late callbacks. In batches
   * (by the expires_at index), so a large backlog never holds the database or the process for long.
   */
  private readonly purge = new PeriodicPurge('expired OIDC transactions', PURGE_EVERY_MS, (now) =>
    deleteInBatches(this.transactions.manager.dataSource, OIDC_TRANSACTIONS.name, OIDC_TRANSACTION_COLUMNS.id, `${T.expiresAt} < $1`, [
      new Date(now - 60 * 60 * 1000),
    ]),
  );
  /**
   * Every authorization request writes one row, so it is a prepared statement on the driver rather
   * than a TypeORM insert (which builds the query and takes a query runner each time).
   */
  private readonly sql: SqlEngine;

  constructor(@InjectRepository(OidcTransaction) private readonly transactions: Repository<OidcTransaction>) {
    this.sql = SqlEngine.of(transactions.manager.dataSource);
  }

  /** passport-openidconnect: persist the request and yield the `state` to send. */
  store(request: OidcRequest, _ctx: object, appState: PendingTransaction, _meta: unknown, callback: StoreCallback): void {
    this.insert(appState).then(
      (state) => settle(request, () => callback(null, state)),
      (error: unknown) => settle(request, () => callback(asError(error))),
    );
  }

  /** passport-openidconnect: consume the transaction named by `state`; refusals carry our code. */
  verify(request: OidcRequest, state: unknown, callback: VerifyCallback): void {
    this.consume(state, request.browserBinding).then(
      (result) =>
        settle(request, () => {
          request.transaction = result.transaction;
          // The nonce is checked by IdTokenVerifier against its hash, so no nonce goes back in ctx.
          if (result.ok) callback(null, {}, result.transaction);
          else callback(null, false, { code: result.code, message: `OIDC transaction refused: ${result.code}` });
        }),
      (error: unknown) => settle(request, () => callback(asError(error))),
    );
  }

  async insert(pending: PendingTransaction): Promise<string> {
    this.purge.maybeRun();
    const state = newOpaqueToken();
    const now = new Date();
    // The columns not named start NULL.
    const [sql, values] = insertStatement(OIDC_TRANSACTIONS, {
      id: pending.id,
      stateHash: sha256Hex(state),
      nonceHash: sha256Hex(pending.nonce),
      codeVerifier: pending.codeVerifier,
      intent: pending.intent,
      client: pending.client,
      returnTo: pending.returnTo,
      appRedirectUri: pending.appRedirectUri,
      browserBindingHash: pending.browserBindingHash,
      exchangeSecretHash: pending.exchangeSecretHash,
      createdAt: now,
      expiresAt: new Date(now.getTime() + TRANSACTION_TTL_MS),
    });
    await this.sql.run(sql, values);
    return state;
  }

  /**
   * Uses up the transaction for `state`, once. A callback from the wrong browser does not use it up,
   * so a forged callback cannot spoil the member's own.
   */
  async consume(state: unknown, browserBinding: string | undefined): Promise<ConsumeResult> {
    if (!isOpaqueToken(state)) return { ok: false, code: 'state_invalid', transaction: undefined };
    const stateHash = sha256Hex(state);
    const bindingHash = isOpaqueToken(browserBinding) ? sha256Hex(browserBinding) : '';
    const now = new Date();
    const result = await this.transactions
      .createQueryBuilder()
      .update(OidcTransaction)
      .set({ consumedAt: now })
      .where(`${T.stateHash} = :stateHash`, { stateHash })
      .andWhere(`${T.consumedAt} IS NULL`)
      .andWhere(`${T.expiresAt} > :now`, { now })
      .andWhere(`(${T.client} <> 'web' OR ${T.browserBindingHash} = :bindingHash)`, { bindingHash })
      .execute();
    const transaction = await this.transactions.findOneBy({ stateHash });
    if (!transaction) return { ok: false, code: 'state_invalid', transaction: undefined };
    if ((result.affected ?? 0) === 1) {
      // The verifier is needed once, for this callback's token request; do not keep it around.
      await this.transactions.update({ id: transaction.id }, { codeVerifier: null });
      return { ok: true, transaction };
    }
    if (transaction.consumedAt !== null) return { ok: false, code: 'state_reused', transaction };
    if (transaction.expiresAt.getTime() <= now.getTime()) return { ok: false, code: 'transaction_expired', transaction };
    return { ok: false, code: 'browser_mismatch', transaction };
  }

  /** Native: park the authenticated member behind a one-time code for the app to exchange. */
  async attachExchange(id: string, member: AuthenticatedMemberIdentity): Promise<string> {
    const code = newOpaqueToken();
    await this.transactions.update(
      { id, exchangeCodeHash: IsNull() },
      {
        exchangeCodeHash: sha256Hex(code),
        exchangeExpiresAt: new Date(Date.now() + EXCHANGE_CODE_TTL_MS),
        memberIssuer: member.issuer,
        memberSub: member.sub,
        memberMydexid: member.mydexid,
        idToken: member.idToken,
      },
    );
    return code;
  }

  /**
   * Native: trade the one-time code and the transaction's exchange secret for the member. The code is
   * used up by any attempt, right or wrong, so it cannot be guessed at.
   */
  async redeemExchange(
    code: unknown,
    exchangeSecret: unknown,
  ): Promise<(AuthenticatedMemberIdentity & { intent: OidcIntent }) | undefined> {
    if (!isOpaqueToken(code) || !isOpaqueToken(exchangeSecret)) return undefined;
    const codeHash = sha256Hex(code);
    const now = new Date();
    const result = await this.transactions
      .createQueryBuilder()
      .update(OidcTransaction)
      .set({ exchangedAt: now })
      .where(`${T.exchangeCodeHash} = :codeHash`, { codeHash })
      .andWhere(`${T.exchangedAt} IS NULL`)
      .andWhere(`${T.exchangeExpiresAt} > :now`, { now })
      .execute();
    if ((result.affected ?? 0) !== 1) return undefined;
    const row = await this.transactions.findOneBy({ exchangeCodeHash: codeHash });
    if (!row) return undefined;
    await this.transactions.update({ id: row.id }, { idToken: null });
    if (row.exchangeSecretHash !== sha256Hex(exchangeSecret) || !row.memberSub || !row.memberIssuer || !row.idToken) return undefined;
    return { issuer: row.memberIssuer, sub: row.memberSub, mydexid: row.memberMydexid, idToken: row.idToken, intent: row.intent };
  }
}
