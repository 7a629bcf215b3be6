import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { createHash, randomUUID } from 'node:crypto';
import { decodeJwt } from 'jose';
import { ReturnToPolicy, withQuery } from '../../common/return-to/return-to.policy.js';
import type { ErrorCode } from '../../common/problem/error-codes.js';
import { ProblemException } from '../../common/problem/problem.exception.js';
import { validationFailed } from '../../common/problem/validation-exception.factory.js';
import { DomainEventPublisher } from '../../events/domain-event.publisher.js';
import { originOf, type DomainEventInput, type EventOrigin } from '../../events/domain-events.js';
import { mydexConfig } from '../../config/mydex.config.js';
import { oidcConfig } from '../../config/oidc.config.js';
import type { AuthenticatedMember } from '../../session/authenticated-member.js';
import type { MemberSession } from '../../session/member-session.entity.js';
import { SessionCookies } from '../../session/session-cookies.js';
import { isOpaqueToken, newOpaqueToken, sha256Hex } from '../../session/session-token.js';
import { SessionsService, type LoggedOut } from '../../session/sessions.service.js';
import { TransactionalEvents } from '../../webhooks/transactional-events.js';
import { OidcRegistrationStrategy } from '../../registration/strategies/oidc/oidc-registration.strategy.js';
import { IdTokenRejected, IdTokenVerifier } from './id-token.verifier.js';
import { MydexOidcProvider, type ProviderMetadata } from '../../mydex/mydex-oidc-provider.js';
import { MydexOidcStrategy, type MydexAuthorizationParams } from './mydex-oidc.strategy.js';
import type { AuthorizeDto, AuthorizeResponseDto, LogoutDto, LogoutResponseDto, SessionExchangeResponseDto } from './oidc-delegate.dto.js';
import type { OidcRequest } from './oidc-request.js';
import type { OidcTransaction } from './oidc-transaction.entity.js';
import { OidcTransactionStore, type AuthenticatedMemberIdentity, type PendingTransaction } from './oidc-transaction.store.js';
import { asError, runPassport, settle, toOidcRequest } from './passport-bridge.js';
import { TokenEndpointTransport } from './token-endpoint.transport.js';

/** The codes a callback can end with (`?error=<code>` on the frontend's or app's address). */
export type CallbackErrorCode = Extract<
  ErrorCode,
  | 'state_invalid'
  | 'state_reused'
  | 'transaction_expired'
  | 'browser_mismatch'
  | 'access_denied'
  | 'provider_error'
  | 'issuer_mismatch'
  | 'token_exchange_failed'
  | 'id_token_invalid'
  | 'userinfo_invalid'
  | 'upstream_unavailable'
  | 'callback_failed'
>;

type UserInfoProfile = { id?: unknown; _json?: Record<string, unknown> } | undefined;
type VerifyDone = (error: Error | null, user?: AuthenticatedMemberIdentity | false, info?: unknown) => void;

/**
 * The OpenID Connect relying party: login at Mydex, and registration delegated to Mydex
 * (`intent=register`: the parameters and the record come from OidcRegistrationStrategy), ending for
 * web in a session cookie and for native in a one-time code for the app.
 */
@Injectable()
export class OidcDelegateService {
  private readonly logger = new Logger(OidcDelegateService.name);
  private built: { metadata: ProviderMetadata; strategy: MydexOidcStrategy } | undefined;

  constructor(
    private readonly provider: MydexOidcProvider,
    private readonly idTokens: IdTokenVerifier,
    private readonly transactions: OidcTransactionStore,
    private readonly sessions: SessionsService,
    private readonly cookies: SessionCookies,
    private readonly registration: OidcRegistrationStrategy,
    private readonly returnTo: ReturnToPolicy,
    @Inject(mydexConfig.KEY) private readonly mydex: ConfigType<typeof mydexConfig>,
    @Inject(oidcConfig.KEY) private readonly oidc: ConfigType<typeof oidcConfig>,
    private readonly events: DomainEventPublisher,
    private readonly transactional: TransactionalEvents,
  ) {}

  /** Stores a transaction and answers the authorization URL; web browsers get the binding cookie. */
  async start(input: AuthorizeDto, request: FastifyRequest, reply: FastifyReply): Promise<AuthorizeResponseDto> {
    const client = input.client ?? 'web';
    const returnTo = client === 'web' ? this.returnTo.webReturnTo(input.returnTo) : null;
    const appRedirectUri = client === 'native' ? this.returnTo.appRedirectUri(input.appRedirectUri) : null;
    const misplaced =
      client === 'web'
        ? input.appRedirectUri !== undefined
          ? 'appRedirectUri'
          : undefined
        : input.returnTo !== undefined
          ? 'returnTo'
          : undefined;
    if (misplaced) {
      const message = `${misplaced} is only used with client ${client === 'web' ? 'native' : 'web'}.`;
      throw validationFailed([{ field: misplaced, code: 'not_for_this_client', message }], message);
    }
    const metadata = await this.provider.metadata();

    const codeVerifier = newOpaqueToken();
    const nonce = newOpaqueToken();
    const existing = this.cookies.readTransactionBinding(request);
    // One binding secret per browser (not per transaction), so flows started in two tabs both finish.
    const binding = client === 'web' ? (isOpaqueToken(existing) ? existing : newOpaqueToken()) : undefined;
    const exchangeSecret = client === 'native' ? newOpaqueToken() : undefined;
    const pending: PendingTransaction = {
      id: randomUUID(),
      intent: input.intent,
      client,
      returnTo,
      appRedirectUri,
      codeVerifier,
      nonce,
      browserBindingHash: binding ? sha256Hex(binding) : null,
      exchangeSecretHash: exchangeSecret ? sha256Hex(exchangeSecret) : null,
    };
    const mydexParams: MydexAuthorizationParams = {
      code_challenge: createHash('sha256').update(codeVerifier).digest('base64url'),
      code_challenge_method: 'S256',
      nonce,
      ...(input.intent === 'register' ? await this.registration.start({ email: input.email }) : {}),
    };

    const oidcRequest = toOidcRequest(request, binding);
    const outcome = await runPassport(this.strategyFor(metadata, oidcRequest), oidcRequest, { state: pending, mydexParams });
    if (outcome.kind === 'error') throw outcome.error;
    if (outcome.kind !== 'redirect') throw new Error(`authorization request ended with ${outcome.kind}`);
    if (binding) this.cookies.setTransactionBinding(reply, binding);
    return { authorizationUrl: outcome.url, transactionId: pending.id, ...(exchangeSecret ? { exchangeSecret } : {}) };
  }

  /**
   * Finishes the flow at the callback and answers where to send the browser: the web returnTo (with
   * the session cookie set), the app's redirect URI with a one-time code, or either with `?error=`.
   * Every refusal happens before anything is created.
   */
  async finish(request: FastifyRequest, reply: FastifyReply): Promise<string> {
    const oidcRequest = toOidcRequest(request, this.cookies.readTransactionBinding(request));
    const query = oidcRequest.query;
    const refuseAfterConsuming = async (code: CallbackErrorCode) => {
      const consumed = await this.transactions.consume(query.state, oidcRequest.browserBinding);
      return this.errorTarget(consumed.transaction, consumed.ok ? code : consumed.code);
    };

    let metadata: ProviderMetadata;
    try {
      metadata = await this.provider.metadata();
    } catch {
      return refuseAfterConsuming('upstream_unavailable');
    }
    const early = earlyRefusal(query, metadata);
    if (early) return refuseAfterConsuming(early);

    const outcome = await runPassport(this.strategyFor(metadata, oidcRequest), oidcRequest, {});
    const transaction = oidcRequest.transaction;
    if (outcome.kind === 'success' && transaction) {
      try {
        return await this.complete(transaction, outcome.user as AuthenticatedMemberIdentity, request, reply);
      } catch (error) {
        this.logger.error({ err: error, transactionId: transaction.id }, 'could not complete the OIDC callback');
        return this.errorTarget(transaction, 'callback_failed');
      }
    }
    const code =
      outcome.kind === 'fail'
        ? failureCode(outcome.challenge)
        : outcome.kind === 'error'
          ? this.errorCode(outcome.error)
          : 'callback_failed';
    this.logger.warn({ code, transactionId: transaction?.id, reason: reasonOf(outcome) }, 'OIDC callback refused');
    return this.errorTarget(transaction, code);
  }

  /** Native: the one-time code and the exchange secret become a bearer session. */
  async exchange(code: string, exchangeSecret: string, origin: EventOrigin = {}): Promise<SessionExchangeResponseDto> {
    const redeemed = await this.transactions.redeemExchange(code, exchangeSecret);
    if (!redeemed)
      throw new ProblemException(
        'exchange_code_invalid',
        'The code is unknown, used, expired, or does not match the exchange secret; start again.',
      );
    const { intent, ...member } = redeemed;
    const { token, session } = await this.sessions.create({ client: 'native', ...member, sid: sidOf(member.idToken) }, (created) =>
      this.transactional.prepare('member.logged_in', loginFacts(created, intent, origin)),
    );
    return { sessionToken: token, expiresAt: session.expiresAt.toISOString(), member: { sub: session.sub, mydexid: session.mydexid } };
  }

  /**
   * Ends the session here (`everywhere`: every session of the member, logout-all) and answers Mydex's
   * end-session URL (RP-initiated logout). The sessions end even when `postLogoutRedirectUri` is
   * refused: the refusal is answered after them (a member who asked to log out is logged out).
   */
  async logout(
    member: AuthenticatedMember,
    input: LogoutDto,
    reply: FastifyReply,
    options: { everywhere?: boolean } = {},
  ): Promise<LogoutResponseDto> {
    const field = 'postLogoutRedirectUri';
    let postLogout: string | undefined;
    let refusal: unknown;
    try {
      postLogout =
        member.client === 'web'
          ? this.returnTo.webReturnTo(input.postLogoutRedirectUri, field)
          : input.postLogoutRedirectUri === undefined
            ? undefined
            : this.returnTo.appRedirectUri(input.postLogoutRedirectUri, field);
    } catch (error) {
      refusal = error;
    }
    // member.logged_out, its webhook row written with the sessions' end, when any ended.
    const loggedOut: LoggedOut = (sessionsEnded) =>
      this.transactional.prepare('member.logged_out', {
        reason: options.everywhere ? 'logout_all' : 'logout',
        issuer: member.issuer,
        sub: member.sub,
        mydexid: member.mydexid,
        sessionId: member.sessionId,
        sid: null,
        sessionsEnded,
        ...originOf(reply.request),
      });
    const ended = options.everywhere
      ? await this.sessions.endAllOfMember(member, member.sessionId, loggedOut)
      : await this.sessions.end(member.sessionId, loggedOut);
    if (member.client === 'web') this.cookies.clearSession(reply);
    if (refusal !== undefined) throw refusal;
    let endSessionUrl: string | null = null;
    try {
      const metadata = await this.provider.metadata();
      if (metadata.endSessionEndpoint) {
        const url = new URL(metadata.endSessionEndpoint);
        if (ended?.idToken) url.searchParams.set('id_token_hint', ended.idToken);
        if (postLogout) url.searchParams.set('post_logout_redirect_uri', postLogout);
        url.searchParams.set('client_id', this.mydex.clientId);
        endSessionUrl = url.href;
      }
    } catch {
      // The local session is over either way; without the provider there is no end-session URL to give.
    }
    return { endSessionUrl };
  }

  private async complete(
    transaction: OidcTransaction,
    member: AuthenticatedMemberIdentity,
    request: FastifyRequest,
    reply: FastifyReply,
  ): Promise<string> {
    let target: string;
    let session: MemberSession | undefined;
    const origin = originOf(request);
    if (transaction.client === 'native') {
      const code = await this.transactions.attachExchange(transaction.id, member);
      target = withQuery(this.checkedTarget(transaction), { code });
    } else {
      // A browser logging in again ends the session its cookie still holds (whoever's it was): one
      // browser, one live session, and a cookie copied before the new login is worth nothing.
      await this.sessions.endByToken(this.cookies.readSession(request), 'web');
      // A login's webhook row commits with its session. A registration's session stands only once its
      // registration is recorded (below, in the strategy's own write): its login is published after.
      const loggedIn =
        transaction.intent === 'login'
          ? (created: MemberSession) => this.transactional.prepare('member.logged_in', loginFacts(created, 'login', origin))
          : undefined;
      const created = await this.sessions.create({ client: 'web', ...member, sid: sidOf(member.idToken) }, loggedIn);
      session = created.session;
      this.cookies.setSession(reply, created.token, session.expiresAt);
      target = this.checkedTarget(transaction);
    }
    if (transaction.intent === 'register') {
      try {
        await this.recordRegistration(transaction, member, session?.id, origin);
      } catch (error) {
        // Nothing half-created: without its registration record the session does not stand either.
        if (session) await this.sessions.end(session.id);
        if (transaction.client === 'web') this.cookies.clearSession(reply);
        throw error;
      }
    }
    // A native app's session begins at the exchange (exchange()); a web login's event was published with its session.
    if (session && transaction.intent === 'register') this.events.publish('member.logged_in', loginFacts(session, 'register', origin));
    return target;
  }

  /** `intent=register`: the OIDC registration strategy records it, for a member new to the BFF. */
  private async recordRegistration(
    transaction: OidcTransaction,
    member: AuthenticatedMemberIdentity,
    sessionId: string | undefined,
    origin: EventOrigin,
  ): Promise<void> {
    await this.registration.complete({ member, sessionId, returnTo: transaction.returnTo }, origin);
  }

  private strategyFor(metadata: ProviderMetadata, request: OidcRequest): MydexOidcStrategy {
    if (this.built?.metadata !== metadata) {
      const strategy = new MydexOidcStrategy(
        {
          issuer: metadata.issuer,
          authorizationURL: metadata.authorizationEndpoint,
          tokenURL: metadata.tokenEndpoint,
          userInfoURL: metadata.userinfoEndpoint,
          callbackURL: this.oidc.callbackUrl,
          clientID: this.mydex.clientId,
          clientSecret: this.mydex.clientSecret,
          // The strategy prefixes `openid` itself.
          scope: this.mydex.scopes.split(/\s+/).filter((scope) => scope !== '' && scope !== 'openid'),
          passReqToCallback: true,
          skipUserProfile: false,
          store: this.transactions as never,
        },
        this.verifyCallback(metadata) as never,
      );
      this.built = { metadata, strategy };
    }
    const transport = new TokenEndpointTransport({
      clientId: this.mydex.clientId,
      clientSecret: this.mydex.clientSecret,
      authorizationEndpoint: metadata.authorizationEndpoint,
      tokenEndpoint: metadata.tokenEndpoint,
      timeoutMs: this.oidc.timeoutMs,
      codeVerifier: () => request.transaction?.codeVerifier,
      abort: (error) => request.abort?.(error),
    });
    return this.built.strategy.forRequest(transport);
  }

  /**
   * passport-openidconnect's verify callback (the 10-argument form, so UserInfo is fetched). Runs after
   * the strategy's own unverified claim checks: here the ID token is verified for real.
   */
  private verifyCallback(metadata: ProviderMetadata) {
    return (
      request: OidcRequest,
      _issuer: string,
      userInfo: UserInfoProfile,
      _idProfile: unknown,
      _context: unknown,
      idToken: string,
      _accessToken: unknown,
      _refreshToken: unknown,
      _params: unknown,
      done: VerifyDone,
    ): void => {
      this.verifyMember(request, metadata, idToken, userInfo).then(
        (result) => settle(request, () => ('member' in result ? done(null, result.member) : done(null, false, result.refusal))),
        (error: unknown) => settle(request, () => done(asError(error))),
      );
    };
  }

  private async verifyMember(
    request: OidcRequest,
    metadata: ProviderMetadata,
    idToken: string,
    userInfo: UserInfoProfile,
  ): Promise<{ member: AuthenticatedMemberIdentity } | { refusal: { code: CallbackErrorCode; reason: string } }> {
    const transaction = request.transaction;
    if (!transaction) return { refusal: { code: 'state_invalid', reason: 'no transaction' } };
    let claims;
    try {
      ({ claims } = await this.idTokens.verify(idToken, metadata, transaction.nonceHash));
    } catch (error) {
      if (error instanceof IdTokenRejected) return { refusal: { code: 'id_token_invalid', reason: error.reason } };
      throw error;
    }
    const json = userInfo?._json;
    if (!json || json.sub !== claims.sub)
      return { refusal: { code: 'userinfo_invalid', reason: 'UserInfo sub differs from the ID token sub' } };
    // Mydex discloses `mydexid` and `username` (the same value) at UserInfo [S]; the ID token may carry it too.
    const mydexid =
      [json.mydexid, json.username, claims.mydexid].find(
        (value): value is string => typeof value === 'string' && value !== '' && value.length <= 60,
      ) ?? null;
    // A member is (iss, sub); the MydexID is an attribute that could change [I].
    return { member: { issuer: claims.iss, sub: claims.sub, mydexid, idToken } };
  }

  private errorCode(error: unknown): CallbackErrorCode {
    const name = error instanceof Error ? error.name : '';
    if (name === 'TokenError') return 'token_exchange_failed';
    if (name === 'InternalOAuthError') {
      const cause = (error as { oauthError?: { statusCode?: number } }).oauthError;
      if (!cause || typeof cause.statusCode !== 'number' || cause.statusCode >= 500) return 'upstream_unavailable';
      return (error as Error).message.includes('user profile') ? 'userinfo_invalid' : 'token_exchange_failed';
    }
    // passport-openidconnect's own checks of an unreadable ID token raise plain errors.
    if (error instanceof SyntaxError || (error instanceof Error && /^ID token/.test(error.message))) return 'id_token_invalid';
    this.logger.error({ err: error }, 'unexpected error in the OIDC callback');
    return 'callback_failed';
  }

  /** Where a refused callback sends the browser: the transaction's own target, else the default frontend. */
  private errorTarget(transaction: OidcTransaction | undefined, code: CallbackErrorCode): string {
    return withQuery(transaction ? this.checkedTarget(transaction) : this.returnTo.defaultWebTarget, { error: code });
  }

  /** The stored target, re-checked against the allowlist as configured now. */
  private checkedTarget(transaction: OidcTransaction): string {
    return transaction.client === 'native'
      ? this.returnTo.targetOrDefault(transaction.appRedirectUri, ['app'])
      : this.returnTo.targetOrDefault(transaction.returnTo);
  }
}

/** Refusals decided from the callback's query alone (the transaction is still used up). */
function earlyRefusal(query: Record<string, unknown>, metadata: ProviderMetadata): CallbackErrorCode | undefined {
  // Any error parameter (even repeated, as an array) is a refusal from the provider.
  if (query.error !== undefined) return query.error === 'access_denied' ? 'access_denied' : 'provider_error';
  // RFC 9207: the authorization response names its issuer; another issuer is a mix-up attack.
  if (query.iss !== undefined ? query.iss !== metadata.issuer : metadata.issParameterSupported) return 'issuer_mismatch';
  if (typeof query.code !== 'string' || query.code === '') return 'provider_error';
  return undefined;
}

/**
 * The `sid` claim of an ID token IdTokenVerifier has already accepted (at this callback, or at the
 * callback that stored it for a native exchange): Mydex's session, which back-channel logout names.
 */
function sidOf(idToken: string): string | null {
  try {
    const sid = decodeJwt(idToken).sid;
    return typeof sid === 'string' && sid !== '' && sid.length <= 255 ? sid : null;
  } catch {
    return null;
  }
}

function failureCode(challenge: unknown): CallbackErrorCode {
  const code = (challenge as { code?: unknown } | undefined)?.code;
  // Without our code, the refusal came from passport-openidconnect's own ID token checks.
  return typeof code === 'string' ? (code as CallbackErrorCode) : 'id_token_invalid';
}

function reasonOf(outcome: { kind: string; challenge?: unknown; error?: unknown }): string {
  if (outcome.kind === 'fail') {
    const challenge = outcome.challenge as { reason?: unknown; message?: unknown } | undefined;
    return String(challenge?.reason ?? challenge?.message ?? 'refused');
  }
  if (outcome.kind === 'error') return outcome.error instanceof Error ? `${outcome.error.name}: ${outcome.error.message}` : 'error';
  return outcome.kind;
}

/** `member.logged_in` of a session just written (and, for `intent=register`, its registration). */
function loginFacts(session: MemberSession, intent: OidcTransaction['intent'], origin: EventOrigin): DomainEventInput<'member.logged_in'> {
  return {
    sessionId: session.id,
    client: session.client,
    issuer: session.issuer,
    sub: session.sub,
    mydexid: session.mydexid,
    intent,
    occurredAt: session.createdAt.toISOString(),
    requestId: origin.requestId,
  };
}
