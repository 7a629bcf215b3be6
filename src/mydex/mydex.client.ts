import { Inject, Injectable, Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash } from 'node:crypto';
import type { FieldProblem } from '../common/problem/problem.exception.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { mydexConfig } from '../config/mydex.config.js';
import { RULES } from '../validation/rule-catalogue.js';
import { ClientCredentialsTokens, transportProblem, unavailable } from './client-credentials.js';
import {
  isRefusal,
  mydexMessage,
  parseJson,
  retryAfterSeconds,
  safeMessage,
  shortTokenFromAnswer,
  takenFields,
  urlFromAnswer,
} from './mydex-answers.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { exchange, type MydexAnswer, type UpstreamObserver } from './mydex-http.js';
import { MydexOidcProvider } from './mydex-oidc-provider.js';

export interface MemberRegistration {
  mydexid: string;
  email: string;
  /** Lives only in memory for this one call: never stored or logged. */
  password: string;
  /** Where Mydex sends the browser after the Private Key form. */
  returnTo: string;
}

export interface ConnectionStart {
  /**
   * Omitted when the member's MydexID is not known: Mydex's FTC page then lets the member log in or
   * register (its FTC page says the MydexID may be unknown when FTC starts [S]).
   */
  mydexid?: string;
  returnTo: string;
  /** Our own id for the member, echoed back in the callback (documented for IDaaS `/ftc/setup` [S], assumed for `/api/connection` [I]). */
  linkingToken?: string;
  /** Set for an update after the connection's permissions changed (`/api/connection/update`). */
  version?: string | number;
}

/** Field errors for Mydex's uniqueness answers, with the ValidationModule's codes and messages. */
const TAKEN_ERRORS: Record<'mydexid' | 'email', FieldProblem> = {
  mydexid: takenError('mydexid', 'mydexid_taken'),
  email: takenError('email', 'email_taken'),
};

function takenError(field: 'mydexid' | 'email', code: 'mydexid_taken' | 'email_taken'): FieldProblem {
  const rule = RULES.find((candidate) => candidate.form === 'registration' && candidate.field === field && candidate.code === code);
  return { field, code, message: rule?.message ?? 'Already in use.' };
}

/**
 * Everything the BFF asks of Mydex's PDX API (besides OIDC, which the OIDC strategy does itself).
 * Each call gets the cached client-credentials token, a fresh single-use short access token, and the
 * three headers Mydex checks; Mydex's answers become the BFF's stable problem codes here, so
 * controllers never see an HTTP status of Mydex's.
 */
@Injectable()
export class MydexClient {
  private readonly logger = new Logger('MydexClient');
  private readonly tokens: ClientCredentialsTokens;
  private readonly connectionTokenHash: string;

  private readonly observe: UpstreamObserver;

  constructor(
    @Inject(mydexConfig.KEY) private readonly config: ConfigType<typeof mydexConfig>,
    metrics: MetricsService,
    provider: MydexOidcProvider,
  ) {
    this.observe = (endpoint, outcome, seconds) => metrics.upstreamDuration.observe({ endpoint, outcome }, seconds);
    this.tokens = new ClientCredentialsTokens({
      observe: this.observe,
      tokenEndpoint: () => provider.tokenEndpoint(),
      clientId: config.clientId,
      clientSecret: config.clientSecret,
      timeoutMs: config.timeoutMs,
      scope: 'mydex:pdx',
    });
    this.connectionTokenHash = sha512Hex(config.connectionToken);
  }

  /**
   * PDX "Scenario 1": registers a MydexID and PDS with details from our own form and answers the URL
   * of Mydex's Private Key form, where the browser goes next. Never retried: it creates.
   */
  async registerMember(member: MemberRegistration): Promise<{ privateKeyUrl: string }> {
    const answer = await this.postWithShortToken('/api/pds', {
      mydexid: member.mydexid,
      email: member.email,
      password: member.password,
      connection_nid: String(this.config.connectionNid),
      connection_token_hash: this.connectionTokenHash,
      return_to: member.returnTo,
    });
    const url = this.readUrl(answer, 'POST /api/pds', [member.password], true);
    return { privateKeyUrl: url };
  }

  /**
   * Starts a First Time Connection (`/api/connection`) or, with `version`, the re-approval of an
   * updated agreement (`/api/connection/update`); answers the one-time URL of Mydex's DSSA page.
   */
  async startConnection(start: ConnectionStart): Promise<{ url: string }> {
    const update = start.version !== undefined;
    const path = update ? '/api/connection/update' : '/api/connection';
    const answer = await this.postWithShortToken(path, {
      ...(start.mydexid === undefined ? {} : { mydexid: start.mydexid }),
      connection_nid: String(this.config.connectionNid),
      connection_token_hash: this.connectionTokenHash,
      return_to: start.returnTo,
      ...(update ? { version: String(start.version) } : {}),
      ...(start.linkingToken === undefined ? {} : { linking_token: start.linkingToken }),
    });
    return { url: this.readUrl(answer, `POST ${path}`, [], false) };
  }

  /** `npm run doctor`: the client-credentials token and one short access token, as every PDX call gets them. */
  async checkShortAccessToken(): Promise<void> {
    await this.shortAccessToken(await this.tokens.get());
  }

  /**
   * `npm run doctor`: presents the Dedicated Connection (short token, `Authentication`, NID and
   * `connection_token_hash`) on `POST /api/connection` without `mydexid` and `return_to`, so Mydex has
   * nowhere to send a member and starts nothing. Answers Mydex's HTTP status (a refusal of the body,
   * 400, means the credentials passed); a refusal of the credentials throws `upstream_auth_failed`.
   * [I] Mydex checks the headers and hash before the body (its pages do not say; the emulator does).
   */
  async checkConnectionCredentials(): Promise<number> {
    const answer = await this.postWithShortToken('/api/connection', {
      connection_nid: String(this.config.connectionNid),
      connection_token_hash: this.connectionTokenHash,
    });
    return answer.status;
  }

  /** Token, short token, then the POST with Mydex's three headers. The POST itself is never retried. */
  private async postWithShortToken(path: string, body: Record<string, string>): Promise<MydexAnswer> {
    const bearer = await this.tokens.get();
    const shortToken = await this.shortAccessToken(bearer);
    const started = Date.now();
    const answer = await this.call(() =>
      exchange(
        `${this.config.pdxUrl}${path}`,
        {
          method: 'POST',
          headers: {
            authorization: `Bearer ${bearer}`,
            'short-access-token': shortToken,
            // Plain concatenation, short token first, lowercase hex SHA-512. [S]
            authentication: sha512Hex(shortToken + this.config.connectionToken),
            'content-type': 'application/json',
            accept: 'application/json',
          },
          body: JSON.stringify(body),
        },
        { timeoutMs: this.config.timeoutMs, observe: this.observe },
      ),
    );
    this.logger.debug(`Mydex POST ${path} answered HTTP ${answer.status} in ${Date.now() - started} ms`);
    if (answer.status === 401 || answer.status === 403) {
      this.tokens.invalidate(bearer);
      throw this.authFailed(`POST ${path}`, answer);
    }
    return answer;
  }

  /**
   * `GET {PDX}/access-token/{nid}`: single use [I], so one per call. Safe to retry once after a network failure.
   * Sent with the client-credentials Bearer token: Mydex documents no header for this call [I].
   */
  private async shortAccessToken(bearer: string): Promise<string> {
    const path = `/access-token/${encodeURIComponent(this.config.connectionNid)}`;
    const get = (token: string) =>
      this.call(() =>
        exchange(
          `${this.config.pdxUrl}${path}`,
          { method: 'GET', headers: { authorization: `Bearer ${token}`, accept: 'application/json' } },
          { timeoutMs: this.config.timeoutMs, networkRetries: 1, observe: this.observe },
        ),
      );
    let answer = await get(bearer);
    if (answer.status === 401) {
      // A cached token Mydex no longer accepts (revoked, or Mydex restarted): one more try with a new one.
      this.tokens.invalidate(bearer);
      const fresh = await this.tokens.get();
      if (fresh !== bearer) answer = await get(fresh);
    }
    this.logger.debug(`Mydex GET ${path} answered HTTP ${answer.status}`);
    if (answer.status === 401 || answer.status === 403) throw this.authFailed(`GET ${path}`, answer);
    if (answer.status >= 500 || answer.status === 429 || answer.status === 408) throw this.unavailableAnswer(`GET ${path}`, answer);
    const token = answer.status === 200 ? shortTokenFromAnswer(parseJson(answer.text)) : undefined;
    if (token === undefined) {
      this.logger.warn(
        `Mydex GET ${path} answered HTTP ${answer.status} without a short access token: check MYDEX_PDX_URL and MYDEX_CONNECTION_NID.`,
      );
      throw badResponse();
    }
    return token;
  }

  /**
   * Reads a POST answer: a URL on success; Mydex's refusals as 409 (taken, when `uniqueness` applies)
   * or 422 with Mydex's message; 5xx/429 as unavailable; anything else as a bad response.
   * Mydex's status codes for refusals are not documented [I]: the message decides, on any 4xx or a 2xx
   * that says `success: 0`.
   */
  private readUrl(answer: MydexAnswer, target: string, secrets: string[], uniqueness: boolean): string {
    const body = parseJson(answer.text);
    if (answer.status >= 200 && answer.status < 300 && !isRefusal(body)) {
      const url = urlFromAnswer(body);
      if (url) return url;
      this.logger.warn(`Mydex ${target} answered HTTP ${answer.status} without a usable URL.`);
      throw badResponse();
    }
    if (answer.status >= 500 || answer.status === 429 || answer.status === 408) throw this.unavailableAnswer(target, answer);
    const refusal =
      (answer.status >= 200 && answer.status < 300) || answer.status === 400 || answer.status === 409 || answer.status === 422;
    const message = refusal ? mydexMessage(body) : undefined;
    if (message === undefined) {
      this.logger.warn(`Mydex ${target} answered HTTP ${answer.status} with nothing the BFF understands: check MYDEX_PDX_URL.`);
      throw badResponse();
    }
    const taken = uniqueness ? takenFields(message) : { mydexid: false, email: false };
    if (taken.mydexid || taken.email) {
      const errors = [...(taken.mydexid ? [TAKEN_ERRORS.mydexid] : []), ...(taken.email ? [TAKEN_ERRORS.email] : [])];
      const code = taken.mydexid ? 'mydexid_taken' : 'email_taken';
      throw new ProblemException(code, errors.map((error) => error.message).join(' '), { errors });
    }
    const shown = safeMessage(message, [...secrets, this.config.connectionToken, this.config.clientSecret]);
    this.logger.log(`Mydex ${target} refused the request (HTTP ${answer.status}).`);
    throw new ProblemException('mydex_rejected', `Mydex refused the request: ${shown}`, { extensions: { mydexMessage: shown } });
  }

  private authFailed(target: string, answer: MydexAnswer): ProblemException {
    const reason = mydexMessage(parseJson(answer.text));
    const said = reason ? ` Mydex said: "${safeMessage(reason, [this.config.connectionToken, this.config.clientSecret])}".` : '';
    this.logger.error(
      `Mydex refused our credentials at ${target} (HTTP ${answer.status}).${said} ` +
        'Check MYDEX_CLIENT_ID and MYDEX_CLIENT_SECRET, and the Dedicated Connection: MYDEX_CONNECTION_NID and MYDEX_CONNECTION_TOKEN.',
    );
    return new ProblemException('upstream_auth_failed', "Mydex refused the BFF's credentials. The operator has been told.");
  }

  private unavailableAnswer(target: string, answer: MydexAnswer): ProblemException {
    this.logger.warn(`Mydex ${target} is unavailable (HTTP ${answer.status}).`);
    return unavailable(retryAfterSeconds(answer.headers.get('retry-after')));
  }

  private async call<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw transportProblem(error, this.logger, this.config.timeoutMs);
    }
  }
}

function badResponse(): ProblemException {
  return new ProblemException('upstream_bad_response', 'Mydex answered with something the BFF could not read.');
}

export function sha512Hex(value: string): string {
  return createHash('sha512').update(value, 'utf8').digest('hex');
}
