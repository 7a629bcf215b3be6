import { Body, Controller, Get, Header, HttpCode, Param, Post, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiCreatedResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../../common/auth/route-access.decorator.js';
import { PROBLEM } from '../../../common/problem/problem-openapi.js';
import { ReturnToPolicy } from '../../../common/return-to/return-to.policy.js';
import { originOf } from '../../../events/domain-events.js';
import { ApiMydexUpstreamResponses } from '../../../mydex/mydex-upstream-responses.decorator.js';
import { RateLimit } from '../../../rate-limit/rate-limit.decorator.js';
import { RegistrationEnumerationBudgets } from '../../../rate-limit/registration-budgets.js';
import { RegistrationBindings } from '../../../session/registration-binding.js';
import { RegistrationDetailsDto } from '../../../validation/registration-details.dto.js';
import { answerCreated, clientOf, detailsOf, returnToOf } from '../../registrations.controller.js';
import { RegistrationsService } from '../../registrations.service.js';
import { CreatedRegistrationDto, CreateRegistrationDto } from '../own-form/own-form-registration.dto.js';
import { InvitationRegistrationStrategy } from './invitation-registration.strategy.js';
import { InvitationDto } from './invitation.dto.js';
import { InvitationsService } from './invitations.service.js';

/**
 * The member's side of an invitation link: the frontend reads the invitation to pre-fill its form,
 * then submits the form through it. Invitations are created by the operator (`npm run invitations`) or
 * the integrator's backend (InvitationsService.create), never over this public API.
 */
@ApiTags('registrations')
@Public()
@RateLimit('registrations')
@Controller('v1/invitations')
export class InvitationsController {
  constructor(
    private readonly invitations: InvitationsService,
    private readonly strategy: InvitationRegistrationStrategy,
    private readonly registrations: RegistrationsService,
    private readonly returnTo: ReturnToPolicy,
    private readonly bindings: RegistrationBindings,
  ) {}

  /** The invitation behind the link's token, while it can be used: the email to pre-fill, and until when. */
  @Get(':token')
  @Header('cache-control', 'no-store')
  @ApiOperation({ operationId: 'getInvitation', summary: 'Read an invitation to register (pre-fills the own form)' })
  @ApiOkResponse({ type: InvitationDto })
  @ApiNotFoundResponse({ description: '`invitation_not_found`: unknown, used or expired', content: PROBLEM })
  async read(@Param('token') token: string): Promise<InvitationDto> {
    const invitation = await this.invitations.findUsable(token);
    if (invitation === null) throw InvitationsService.notFound();
    return { email: invitation.email, expiresAt: invitation.expiresAt.toISOString() };
  }

  /**
   * Registers through the invitation: the body, checks, Mydex submission and answer of `POST
   * /v1/registrations`, recorded with strategy `invitation`; the invitation is spent with the
   * registration, so a second use answers `invitation_not_found`.
   */
  @Post(':token/registration')
  @RegistrationEnumerationBudgets()
  @HttpCode(201)
  @Header('cache-control', 'no-store')
  @ApiOperation({ operationId: 'registerWithInvitation', summary: 'Register through our own form, using an invitation' })
  @ApiBody({ type: CreateRegistrationDto })
  @ApiCreatedResponse({
    type: CreatedRegistrationDto,
    description: 'As `POST /v1/registrations`: web clients get the binding cookie, native clients `registrationSecret` in the body.',
  })
  @ApiBadRequestResponse({ description: '`return_to_not_allowed`, `body_not_object`, `malformed_json`', content: PROBLEM })
  @ApiNotFoundResponse({ description: '`invitation_not_found`: unknown, used or expired', content: PROBLEM })
  @ApiConflictResponse({ description: '`mydexid_taken` or `email_taken` (from Mydex, with field errors)', content: PROBLEM })
  @ApiUnprocessableEntityResponse({
    description: "`validation_failed` (every field error), `mydex_rejected` (Mydex's message)",
    content: PROBLEM,
  })
  @ApiMydexUpstreamResponses()
  async register(
    @Param('token') token: string,
    // As POST /v1/registrations: the rules run in the global ValidationPipe, client and returnTo beside it.
    @Body() registration: RegistrationDetailsDto,
    @Body('client') clientField: unknown,
    @Body('returnTo') returnToField: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<CreatedRegistrationDto> {
    const details = detailsOf(registration);
    const client = clientOf(clientField);
    const returnTo = this.returnTo.clientTarget(returnToOf(returnToField), client);
    const value = await this.strategy.start({ token, details, returnTo, client }, originOf(reply.request));
    return answerCreated(value, client, reply, this.bindings, this.registrations.connectWindowSeconds);
  }
}
