import { applyDecorators, type CanActivate, type ExecutionContext, Inject, Injectable, Logger, UseGuards } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiForbiddenResponse, ApiHeader, ApiResponse } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { PROBLEM } from '../../common/problem/problem-openapi.js';
import { ProblemException } from '../../common/problem/problem.exception.js';
import { MetricsService } from '../../metrics/metrics.service.js';
import { challengeConfig } from './challenge.config.js';
import { ChallengeUnavailableError, type RegistrationChallenge, SiteverifyChallenge } from './registration-challenge.js';

/** The request header that carries the provider widget's token. */
export const CHALLENGE_HEADER = 'x-challenge-token';
/** Printable ASCII; Turnstile's tokens are at most 2,048 characters, hCaptcha's are of the same order. */
const TOKEN = /^[\x21-\x7e]{1,8192}$/;
const RETRY_AFTER_SECONDS = '5';

/** The configured human check, or none (REGISTRATION_CHALLENGE=off, the default). */
@Injectable()
export class RegistrationChallengeCheck {
  private readonly log = new Logger('RegistrationChallenge');
  readonly challenge: RegistrationChallenge | undefined;

  constructor(
    @Inject(challengeConfig.KEY) config: ConfigType<typeof challengeConfig>,
    private readonly metrics: MetricsService,
  ) {
    this.challenge =
      config.provider === 'off' || config.secret === undefined
        ? undefined
        : new SiteverifyChallenge(config.provider, config.secret, config.verifyUrl, (codes) =>
            this.log.error(
              { provider: config.provider, errorCodes: codes },
              'the human-check provider refused our request: check REGISTRATION_CHALLENGE_SECRET',
            ),
          );
  }

  /** Passes, or throws 403 `challenge_failed` / 503 `challenge_unavailable`. */
  async require(token: unknown, remoteIp: string | undefined): Promise<void> {
    const challenge = this.challenge;
    if (challenge === undefined) return;
    const count = (outcome: string) => this.metrics.registrationChallenges.inc({ provider: challenge.provider, outcome });
    if (typeof token !== 'string' || !TOKEN.test(token)) {
      count('missing');
      throw new ProblemException('challenge_failed', `Send the ${challenge.provider} token in the X-Challenge-Token header.`);
    }
    let passed: boolean;
    try {
      passed = await challenge.verify(token, remoteIp);
    } catch (error) {
      count('unavailable');
      this.log.warn(
        { provider: challenge.provider, reason: error instanceof ChallengeUnavailableError ? error.message : 'unexpected error' },
        'human check unavailable; registration refused with 503',
      );
      throw new ProblemException('challenge_unavailable', 'The human check could not be verified just now; try again shortly.', {
        headers: { 'retry-after': RETRY_AFTER_SECONDS },
      });
    }
    count(passed ? 'passed' : 'failed');
    if (!passed)
      throw new ProblemException('challenge_failed', 'The human check was not passed (or its token expired or was used); solve it again.');
  }
}

@Injectable()
export class RegistrationChallengeGuard implements CanActivate {
  constructor(private readonly check: RegistrationChallengeCheck) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    await this.check.require(request.headers[CHALLENGE_HEADER], request.ip);
    return true;
  }
}

/** On `POST /v1/registrations`: the optional human check (REGISTRATION_CHALLENGE), before any work. */
export const RequireRegistrationChallenge = () =>
  applyDecorators(
    UseGuards(RegistrationChallengeGuard),
    ApiHeader({
      name: 'X-Challenge-Token',
      required: false,
      description: "The Turnstile or hCaptcha widget's token; required when the BFF runs with REGISTRATION_CHALLENGE on (single use).",
    }),
    ApiForbiddenResponse({
      description: '`challenge_failed`: the human check is on and its token is missing, refused, expired or used',
      content: PROBLEM,
    }),
    ApiResponse({
      status: 503,
      description:
        "`upstream_unavailable` (Mydex), or `challenge_unavailable` (the human check's provider could not be asked); both with Retry-After",
      content: PROBLEM,
    }),
  );
