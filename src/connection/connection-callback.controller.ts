import {
  applyDecorators,
  Body,
  Controller,
  Header,
  HttpCode,
  Inject,
  Logger,
  type OnModuleInit,
  Post,
  Put,
  Req,
  UseGuards,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { ConfigType } from '@nestjs/config';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
  ApiForbiddenResponse,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiTags,
  ApiUnauthorizedResponse,
  ApiUnprocessableEntityResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { MydexCallbackRoute } from '../common/auth/route-access.decorator.js';
import { BodyLimits, CALLBACK_BODY_LIMITS } from '../common/http/json-body.js';
import { mydexConfig } from '../config/mydex.config.js';
import { readCallbackDelivery } from './callback-delivery.js';
import { admitCallbacksWith, onUnparsedCallback, rawCallbackBody } from './callback-form.js';
import { CallbackReceivedDto, ConnectionCallbackDto, ConnectionNotificationDto } from './connection-callback.dto.js';
import { ConnectionCallbackGuard } from './connection-callback.guard.js';
import { ConnectionsService } from './connections.service.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';
import { CONNECTION_CALLBACK } from '../common/http/routes.js';

const RECEIVED: CallbackReceivedDto = { received: true };

const CALLBACK_BODY = {
  schema: { oneOf: [{ $ref: getSchemaPath(ConnectionCallbackDto) }, { $ref: getSchemaPath(ConnectionNotificationDto) }] },
};

/** What POST and PUT share: the answer, the accepted bodies and every refusal. */
const CallbackEndpoint = () =>
  applyDecorators(
    Header('cache-control', 'no-store'),
    // The one route with more than the default body limits: Mydex's `fields` can be large.
    BodyLimits(CALLBACK_BODY_LIMITS),
    ApiConsumes('application/x-www-form-urlencoded', 'application/json'),
    ApiBody(CALLBACK_BODY),
    ApiOkResponse({
      type: CallbackReceivedDto,
      description:
        'Kept: applied (format surprises noted as anomalies), a repeat of the current delivery, quarantined for the operator, or a notification',
    }),
    ApiBadRequestResponse({
      description:
        '`malformed_form`, `malformed_json`, `invalid_unicode` or `body_not_object` (from an admitted caller, the body is still kept, sealed)',
      content: PROBLEM,
    }),
    ApiUnauthorizedResponse({ description: '`callback_unauthenticated`: the Authentication header is missing or wrong', content: PROBLEM }),
    ApiForbiddenResponse({
      description: '`callback_source_not_allowed`: the client address is outside CALLBACK_ALLOWED_IPS',
      content: PROBLEM,
    }),
    ApiPayloadTooLargeResponse({
      description:
        '`payload_too_large`: more than 1 MiB; `body_too_complex`: a JSON body with more than 50,000 keys and array items or nested deeper than 32 (kept, sealed)',
      content: PROBLEM,
    }),
    ApiUnprocessableEntityResponse({
      description: '`validation_failed`: no `key`, or nested too deeply (the body is still kept, sealed)',
      content: PROBLEM,
    }),
  );

/**
 * Mydex's callback: POST when a member completes a First Time Connection, PUT when a member
 * re-approves an updated agreement, and PDX notifications (JSON). One handler for both methods:
 * a repeated POST overwrites and a PUT for an unknown connection creates [I]. Mydex documents no
 * expected answer, timeout or retries: a kept delivery is answered 200 [I].
 */
@ApiTags('connections')
@ApiExtraModels(ConnectionCallbackDto, ConnectionNotificationDto)
@MydexCallbackRoute()
@SkipRateLimit("Mydex's callback: limited by its Authentication header and body limit, not by IP (Mydex retries)")
@UseGuards(ConnectionCallbackGuard)
@Controller(CONNECTION_CALLBACK.prefix)
export class ConnectionCallbackController implements OnModuleInit {
  private readonly logger = new Logger('ConnectionCallback');

  constructor(
    private readonly connections: ConnectionsService,
    @Inject(mydexConfig.KEY) private readonly mydex: ConfigType<typeof mydexConfig>,
    private readonly guard: ConnectionCallbackGuard,
    private readonly adapterHost: HttpAdapterHost,
  ) {}

  /** Bodies the JSON parser refused never reach the route: keep an admitted caller's (callback-form.ts). */
  onModuleInit(): void {
    admitCallbacksWith(this.adapterHost.httpAdapter.getInstance(), (request) => this.guard.refusal(request));
    onUnparsedCallback(this.adapterHost.httpAdapter.getInstance(), async (request, raw, reason) => {
      if (this.guard.refusal(request) !== undefined) return;
      const method = request.method === 'PUT' ? 'PUT' : 'POST';
      try {
        await this.connections.keepUnparsed(raw, reason, { method, contentType: 'json', requestId: String(request.id) });
      } catch (error) {
        // The answer is the parser's 4xx either way; a failure to keep is logged, never a 500.
        this.logger.error(
          `keeping an unparsed delivery failed: ${error instanceof Error ? error.message : String(error)} (request ${String(request.id)})`,
        );
      }
    });
  }

  @Post(CONNECTION_CALLBACK.sub)
  @HttpCode(200) // on the method itself: the Swagger CLI plugin reads it from the source
  @ApiOperation({
    operationId: 'receiveConnectionCallback',
    summary: 'Mydex: a member completed a First Time Connection (or a PDX notification)',
  })
  @CallbackEndpoint()
  create(@Body() body: unknown, @Req() request: FastifyRequest): Promise<CallbackReceivedDto> {
    return this.receive('POST', body, request);
  }

  @Put(CONNECTION_CALLBACK.sub)
  @HttpCode(200)
  @ApiOperation({ operationId: 'updateConnectionCallback', summary: 'Mydex: a member re-approved an updated Data Sharing Agreement' })
  @CallbackEndpoint()
  update(@Body() body: unknown, @Req() request: FastifyRequest): Promise<CallbackReceivedDto> {
    return this.receive('PUT', body, request);
  }

  // The body is typed unknown on purpose: a form and JSON arrive in different shapes (strings vs
  // numbers) and a notification is another shape again, so readCallbackDelivery validates it with
  // ConnectionCallbackDto (a notification, the @ApiBody's other shape, is stored as received). The
  // ValidationPipe would refuse a malformed delivery with 422 and keep nothing; an authenticated one
  // is kept and applied with its anomalies instead (never refuse, never lose what Mydex may
  // legitimately send; docs/decisions.md).
  private async receive(method: 'POST' | 'PUT', body: unknown, request: FastifyRequest): Promise<CallbackReceivedDto> {
    const delivery = readCallbackDelivery(body, this.mydex.connectionNid);
    const form = (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
    await this.connections.record(
      delivery,
      { method, contentType: form ? 'form' : 'json', requestId: String(request.id) },
      rawCallbackBody(request),
    );
    return RECEIVED;
  }
}
