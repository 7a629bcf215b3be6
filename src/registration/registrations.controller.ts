import { Body, Controller, Get, Header, HttpCode, Logger, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiHeader,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiResponse,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Public } from '../common/auth/route-access.decorator.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { ReturnToPolicy, withQuery } from '../common/return-to/return-to.policy.js';
import { RegistrationBindings, type BindingClient } from '../session/registration-binding.js';
import { RegistrationDetailsDto } from '../validation/registration-details.dto.js';
import type { RegistrationDetails } from '../validation/registration-rules.js';
import { originOf } from '../events/domain-events.js';
import { IdempotencyKeyHeader } from './idempotency/idempotency-key.decorator.js';
import { IdempotencyStore, REPLAY_HEADER } from './idempotency/idempotency.store.js';
import type { Registration } from './registration.entity.js';
import { RegistrationStrategies } from './registration-strategies.js';
import { RegistrationsService } from './registrations.service.js';
import { CreatedRegistrationDto, CreateRegistrationDto, RegistrationStatusDto } from './strategies/own-form/own-form-registration.dto.js';
import { OwnFormRegistrationStrategy, PRIVATE_KEY_WINDOW_MS } from './strategies/own-form/own-form-registration.strategy.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { ApiMydexUpstreamResponses } from '../mydex/mydex-upstream-responses.decorator.js';
import { RateLimit } from '../rate-limit/rate-limit.decorator.js';
import { RegistrationEnumerationBudgets } from '../rate-limit/registration-budgets.js';
import { RequireRegistrationChallenge } from './challenge/registration-challenge.guard.js';
import { REGISTRATION_RETURN, REGISTRATIONS_PREFIX } from '../common/http/routes.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** Written out, not built from REGISTRATIONS_PREFIX: it keys the stored Idempotency-Key hashes, so it never changes. */
const IDEMPOTENCY_SCOPE = 'POST /v1/registrations';

/**
 * Registrations: own-form registration (POST), the status of any registration (GET), and the
 * return_to Mydex sends the browser to after its Private Key form (completed through the strategy that
 * recorded the registration: own_form or invitation). Thin: the work is in OwnFormRegistrationStrategy,
 * RegistrationStrategies, MydexClient and RegistrationsService.
 */
@ApiTags('registrations')
@Public()
@RateLimit('registrations')
@Controller(REGISTRATIONS_PREFIX)
export class RegistrationsController {
  constructor(
    private readonly ownForm: OwnFormRegistrationStrategy,
    private readonly registrations: RegistrationsService,
    private readonly returnTo: ReturnToPolicy,
    private readonly idempotency: IdempotencyStore,
    private readonly bindings: RegistrationBindings,
    private readonly strategies: RegistrationStrategies,
  ) {}

  private readonly logger = new Logger('Registrations');

  /**
   * Registers a MydexID and PDS from our own form: checks Mydex's registration rules, submits the details to
   * Mydex, and answers the URL of Mydex's Private Key form, where the browser goes next. The password
   * is used for the one call to Mydex and never stored, logged or returned.
   */
  @Post()
  @RequireRegistrationChallenge()
  @RegistrationEnumerationBudgets()
  @HttpCode(201)
  @Header('cache-control', 'no-store')
  @ApiOperation({ operationId: 'createRegistration', summary: 'Register through our own form (Mydex PDX "Scenario 1")' })
  @ApiBody({ type: CreateRegistrationDto })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'A UUID. A repeat with the same key and body within 24 hours answers the first outcome without calling Mydex again.',
  })
  @ApiCreatedResponse({
    type: CreatedRegistrationDto,
    description:
      'Web clients (default) also get the HttpOnly binding cookie `__Host-bff_registration` (`bff_registration` on plain-http localhost); native clients get `registrationSecret` in the body instead.',
  })
  @ApiBadRequestResponse({
    description: '`return_to_not_allowed`, `idempotency_key_invalid`, `body_not_object`, `malformed_json`',
    content: PROBLEM,
  })
  @ApiConflictResponse({
    description: '`mydexid_taken` or `email_taken` (from Mydex, with field errors); `idempotency_in_progress`',
    content: PROBLEM,
  })
  @ApiUnprocessableEntityResponse({
    description: "`validation_failed` (every field error), `mydex_rejected` (Mydex's message), `idempotency_key_reused`",
    content: PROBLEM,
  })
  @ApiMydexUpstreamResponses()
  async create(
    @IdempotencyKeyHeader() key: string | undefined,
    // The rules run in the global ValidationPipe (RegistrationDetailsDto). client and returnTo are read
    // beside it, not as CreateRegistrationDto: a wrong one is its own 400 (invalid_request,
    // return_to_not_allowed), answered only once the rules passed (docs/decisions.md).
    @Body() registration: RegistrationDetailsDto,
    @Body('client') clientField: unknown,
    @Body('returnTo') returnToField: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedRegistrationDto> {
    const details = detailsOf(registration);
    const client = clientOf(clientField);
    const returnTo = this.returnTo.clientTarget(returnToOf(returnToField), client);
    let value: Required<CreatedRegistrationDto>;
    const origin = originOf(reply.request);
    if (key === undefined) {
      value = await this.ownForm.start({ details, returnTo, client }, origin);
    } else {
      // The stored answer (encrypted under the Idempotency-Key) keeps the binding secret, so a replay binds the same client again.
      const run = await this.idempotency.run(IDEMPOTENCY_SCOPE, key, { ...details, returnTo, client }, this.ownForm.maxDurationMs, () =>
        this.ownForm.start({ details, returnTo, client }, origin),
      );
      if (run.replayed) void reply.header(REPLAY_HEADER, 'true');
      value = run.value;
    }
    return answerCreated(value, client, reply, this.bindings, this.registrations.connectWindowSeconds);
  }

  /** The status of one registration (either strategy). Never any secret. */
  @Get(':id')
  @Header('cache-control', 'no-store')
  @ApiOperation({ operationId: 'getRegistration', summary: 'The status of one registration' })
  @ApiOkResponse({ type: RegistrationStatusDto })
  @ApiNotFoundResponse({ description: '`registration_not_found`', content: PROBLEM })
  async status(@Param('id') id: string): Promise<RegistrationStatusDto> {
    const registration = await this.find(id);
    if (registration === null) throw new ProblemException('registration_not_found', 'There is no registration with this id.');
    return statusView(registration);
  }

  /**
   * Mydex's `return_to` after the Private Key form. Only the browser that created the registration
   * (its binding cookie) completes it; anyone else who has the URL is sent on with the current status,
   * and nothing changes. Lands on the returnTo given at the start with
   * `?registration=<id>&status=<status>`; an unknown id on the default frontend page with
   * `?error=registration_not_found`. A native app's system browser has no cookie: it lands on the app's
   * redirect URI, and the app confirms with `POST /v1/registrations/{id}/return`.
   */
  @Get(REGISTRATION_RETURN.sub)
  @ApiOperation({
    operationId: 'returnFromRegistration',
    summary: 'Where Mydex sends the browser after the Private Key form (303 to the frontend or app)',
  })
  @ApiResponse({
    status: 303,
    description:
      'To the frontend (or app): `?registration=<id>&status=<status>` (`completed` only for the browser holding the binding cookie) or `?error=registration_not_found`',
  })
  async returnFromMydex(@Param('id') id: string, @Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    let registration = await this.find(id);
    let target: string;
    if (registration === null) {
      target = withQuery(this.returnTo.defaultWebTarget, { error: 'registration_not_found' });
    } else {
      // A top-level navigation carries cookies only: the web binding is the one that can complete here.
      const presented = this.bindings.presented(request);
      const secret = presented?.client === 'web' ? presented.secret : undefined;
      if (secret !== undefined && RegistrationsService.isBoundTo(registration, secret, 'web')) {
        registration = await this.strategies.completeReturn(registration, originOf(request));
        // From now on the cookie is only needed for the connect window.
        if (registration.status === 'completed') this.refreshCookie(reply, secret, registration);
      } else if (registration.status === 'awaiting_private_key') {
        this.logger.log(
          `registration ${registration.id}: return without its binding (${registration.bindingClient ?? 'unbound'} client); status unchanged`,
        );
      }
      target = withQuery(this.landing(registration), { registration: registration.id, status: viewStatus(registration) });
    }
    await reply.code(303).header('location', target).header('cache-control', 'no-store').send();
  }

  /**
   * The creating client confirms that the member came back from Mydex's Private Key form: a native
   * app (header `X-Registration-Secret`) once its redirect URI opened, or a web client (binding cookie
   * and `X-CSRF: 1`). Completes the registration for the bound client only; anyone else gets the
   * current status, unchanged.
   */
  @Post(REGISTRATION_RETURN.sub)
  @HttpCode(200)
  @Header('cache-control', 'no-store')
  @ApiOperation({
    operationId: 'confirmRegistrationReturn',
    summary: 'The creating client confirms the return from the Private Key form (native apps)',
  })
  @ApiHeader({ name: 'X-Registration-Secret', required: false, description: 'The `registrationSecret` the 201 answered (native clients).' })
  @ApiOkResponse({
    type: RegistrationStatusDto,
    description: '`completed` for the bound client; for anyone else the current status, unchanged',
  })
  @ApiNotFoundResponse({ description: '`registration_not_found`', content: PROBLEM })
  @ApiResponse({ status: 403, description: '`csrf_header_missing`: the binding cookie without `X-CSRF: 1`', content: PROBLEM })
  async confirmReturn(
    @Param('id') id: string,
    @Req() request: FastifyRequest,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RegistrationStatusDto> {
    let registration = await this.find(id);
    if (registration === null) throw new ProblemException('registration_not_found', 'There is no registration with this id.');
    const presented = this.bindings.presented(request);
    if (presented?.client === 'web' && request.headers['x-csrf'] !== '1') {
      throw new ProblemException('csrf_header_missing', 'Send the header X-CSRF: 1 with cookie-authenticated requests that change state.');
    }
    if (presented !== undefined && RegistrationsService.isBoundTo(registration, presented.secret, presented.client)) {
      registration = await this.strategies.completeReturn(registration, originOf(request));
      if (presented.client === 'web' && registration.status === 'completed') this.refreshCookie(reply, presented.secret, registration);
    }
    return statusView(registration);
  }

  private find(id: string): Promise<Registration | null> {
    return UUID.test(id) ? this.registrations.findById(id.toLowerCase()) : Promise.resolve(null);
  }

  /** The binding cookie now only serves the connect window (cleared when the window is 0). */
  private refreshCookie(reply: FastifyReply, secret: string, registration: Registration): void {
    const window = this.registrations.connectWindowSeconds;
    const left = registration.completedAt === null ? 0 : window - (Date.now() - registration.completedAt.getTime()) / 1000;
    if (left > 0) this.bindings.setCookie(reply, secret, left);
    else this.bindings.clearCookie(reply);
  }

  /** The stored returnTo, checked again in case FRONTEND_ORIGINS (or NATIVE_REDIRECT_URIS) changed since the registration began. */
  private landing(registration: Registration): string {
    return this.returnTo.targetOrDefault(registration.returnTo, registration.bindingClient === 'native' ? ['app', 'web'] : ['web']);
  }
}

/** The validated details as the own-form strategy and the Idempotency-Key fingerprint take them (in this key order). */
export function detailsOf({ mydexid, email, password }: RegistrationDetailsDto): RegistrationDetails {
  return { mydexid, email, password };
}

/**
 * The 201 answer of a registration through the own form (also through an invitation): a native app gets
 * its binding secret in the body, a browser as the HttpOnly binding cookie instead.
 */
export function answerCreated(
  value: Required<CreatedRegistrationDto>,
  client: BindingClient,
  reply: FastifyReply,
  bindings: RegistrationBindings,
  connectWindowSeconds: number,
): CreatedRegistrationDto {
  const { registrationSecret, ...created } = value;
  if (client === 'native') return value;
  // The cookie lives as long as the Private Key form may still come back, plus the connect window.
  bindings.setCookie(reply, registrationSecret, PRIVATE_KEY_WINDOW_MS / 1000 + connectWindowSeconds);
  return created;
}

export function clientOf(value: unknown): BindingClient {
  if (value === undefined || value === null || value === 'web') return 'web';
  if (value === 'native') return 'native';
  throw new ProblemException('invalid_request', 'client must be "web" or "native".', {
    errors: [{ field: 'client', code: 'invalid_request', message: 'client must be "web" or "native".' }],
  });
}

export function returnToOf(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new ProblemException('return_to_not_allowed', 'returnTo must be a string.', {
      errors: [{ field: 'returnTo', code: 'return_to_not_allowed', message: 'returnTo must be a string.' }],
    });
  }
  return value;
}

function viewStatus(registration: Registration): RegistrationStatusDto['status'] {
  const expired =
    registration.status === 'awaiting_private_key' && registration.expiresAt !== null && registration.expiresAt.getTime() <= Date.now();
  return expired ? 'expired' : registration.status;
}

function statusView(registration: Registration): RegistrationStatusDto {
  return {
    registrationId: registration.id,
    status: viewStatus(registration),
    strategy: registration.strategy,
    createdAt: registration.createdAt.toISOString(),
    updatedAt: registration.updatedAt.toISOString(),
    completedAt: registration.completedAt ? registration.completedAt.toISOString() : null,
  };
}
