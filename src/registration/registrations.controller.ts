import { Body, Controller, Get, Header, Headers, HttpCode, Param, Post, Res } from '@nestjs/common';
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
import type { FastifyReply } from 'fastify';
import { Public } from '../common/auth/route-access.decorator.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { ReturnToPolicy, withQuery } from '../common/return-to/return-to.policy.js';
import { requireValidRegistration } from '../validation/registration-body.js';
import { IdempotencyStore, REPLAY_HEADER } from './idempotency/idempotency.store.js';
import type { Registration } from './registration.entity.js';
import { RegistrationsService } from './registrations.service.js';
import { CreatedRegistrationDto, CreateRegistrationDto, RegistrationStatusDto } from './strategies/own-form/own-form-registration.dto.js';
import { OwnFormRegistrationStrategy } from './strategies/own-form/own-form-registration.strategy.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { ApiMydexUpstreamResponses } from '../mydex/mydex-upstream-responses.decorator.js';


const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const IDEMPOTENCY_SCOPE = 'POST /v1/registrations';

/**
 * Registrations: own-form registration (POST), the status of any registration (GET), and the
 * return_to Mydex sends the browser to after its Private Key form. Thin: the work is in
 * OwnFormRegistrationStrategy, MydexClient and RegistrationsService.
 */
@ApiTags('registrations')
@Public()
@Controller('v1/registrations')
export class RegistrationsController {
  constructor(
    private readonly ownForm: OwnFormRegistrationStrategy,
    private readonly registrations: RegistrationsService,
    private readonly returnTo: ReturnToPolicy,
    private readonly idempotency: IdempotencyStore,
  ) {}

  /**
   * Registers a MydexID and PDS from our own form: checks the eight rules, submits the details to
   * Mydex, and answers the URL of Mydex's Private Key form, where the browser goes next. The password
   * is used for the one call to Mydex and never stored, logged or returned.
   */
  @Post()
  @HttpCode(201)
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'Register through our own form (Mydex PDX "Scenario 1")' })
  @ApiBody({ type: CreateRegistrationDto })
  @ApiHeader({
    name: 'Idempotency-Key',
    required: false,
    description: 'A UUID. A repeat with the same key and body within 24 hours answers the first outcome without calling Mydex again.',
  })
  @ApiCreatedResponse({ type: CreatedRegistrationDto })
  @ApiBadRequestResponse({ description: '`return_to_not_allowed`, `idempotency_key_invalid`, `body_not_object`, `malformed_json`', content: PROBLEM })
  @ApiConflictResponse({ description: '`mydexid_taken` or `email_taken` (from Mydex, with field errors); `idempotency_in_progress`', content: PROBLEM })
  @ApiUnprocessableEntityResponse({ description: '`validation_failed` (every field error), `mydex_rejected` (Mydex\'s message), `idempotency_key_reused`', content: PROBLEM })
  @ApiMydexUpstreamResponses()
  async create(
    // Typed unknown: the ValidationModule's rules run in requireValidRegistration, which reports every field error.
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyKey: string | undefined,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedRegistrationDto> {
    const key = IdempotencyStore.checkKey(idempotencyKey);
    const details = requireValidRegistration(body);
    const returnTo = this.returnTo.webReturnTo(returnToOf(body));
    if (key === undefined) return this.ownForm.register(details, returnTo);
    const { value, replayed } = await this.idempotency.run(IDEMPOTENCY_SCOPE, key, { ...details, returnTo }, this.ownForm.maxDurationMs, () =>
      this.ownForm.register(details, returnTo),
    );
    if (replayed) void reply.header(REPLAY_HEADER, 'true');
    return value;
  }

  /** The status of one registration (either strategy). Never any secret. */
  @Get(':id')
  @Header('cache-control', 'no-store')
  @ApiOperation({ summary: 'The status of one registration' })
  @ApiOkResponse({ type: RegistrationStatusDto })
  @ApiNotFoundResponse({ description: '`registration_not_found`', content: PROBLEM })
  async status(@Param('id') id: string): Promise<RegistrationStatusDto> {
    const registration = await this.find(id);
    if (registration === null) throw new ProblemException('registration_not_found', 'There is no registration with this id.');
    return statusView(registration);
  }

  /**
   * Mydex's `return_to` after the Private Key form: marks the registration completed and sends the
   * browser to the frontend's returnTo with `?registration=<id>&status=completed`. An unknown id lands
   * on the default frontend page with `?error=registration_not_found`.
   */
  @Get(':id/return')
  @ApiOperation({ summary: 'Where Mydex sends the browser after the Private Key form (303 to the frontend)' })
  @ApiResponse({ status: 303, description: 'To the frontend: `?registration=<id>&status=<status>` or `?error=registration_not_found`' })
  async returnFromMydex(@Param('id') id: string, @Res() reply: FastifyReply): Promise<void> {
    let registration = await this.find(id);
    let target: string;
    if (registration === null) {
      target = withQuery(this.returnTo.defaultWebTarget, { error: 'registration_not_found' });
    } else {
      // Reaching return_to is Mydex's only signal that the Private Key form succeeded [I].
      if (registration.status === 'awaiting_private_key') registration = (await this.registrations.finish(registration.id, 'completed')) ?? registration;
      target = withQuery(this.frontendTarget(registration.returnTo), { registration: registration.id, status: registration.status });
    }
    await reply.code(303).header('location', target).header('cache-control', 'no-store').send();
  }

  private find(id: string): Promise<Registration | null> {
    return UUID.test(id) ? this.registrations.findById(id.toLowerCase()) : Promise.resolve(null);
  }

  /** The stored returnTo, checked again in case FRONTEND_ORIGINS changed since the registration began. */
  private frontendTarget(stored: string | null): string {
    if (stored === null) return this.returnTo.defaultWebTarget;
    try {
      return this.returnTo.webReturnTo(stored);
    } catch {
      return this.returnTo.defaultWebTarget;
    }
  }
}

function returnToOf(body: unknown): string | undefined {
  const value = (body as Record<string, unknown>).returnTo;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new ProblemException('return_to_not_allowed', 'returnTo must be a string.', {
      errors: [{ field: 'returnTo', code: 'return_to_not_allowed', message: 'returnTo must be a string.' }],
    });
  }
  return value;
}

function statusView(registration: Registration): RegistrationStatusDto {
  const expired = registration.status === 'awaiting_private_key' && registration.expiresAt !== null && registration.expiresAt.getTime() <= Date.now();
  return {
    registrationId: registration.id,
    status: expired ? 'expired' : registration.status,
    strategy: registration.strategy,
    createdAt: registration.createdAt.toISOString(),
    updatedAt: registration.updatedAt.toISOString(),
    completedAt: registration.completedAt ? registration.completedAt.toISOString() : null,
  };
}
