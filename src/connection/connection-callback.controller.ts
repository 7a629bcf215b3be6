import { applyDecorators, Body, Controller, Header, HttpCode, Inject, Post, Put, Req, UseGuards } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConsumes,
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
import { CallbackReceivedDto, ConnectionCallbackDto, ConnectionNotificationDto } from './connection-callback.dto.js';
import { ConnectionCallbackGuard } from './connection-callback.guard.js';
import { ConnectionsService } from './connections.service.js';
import { PROBLEM } from '../common/problem/problem-openapi.js';

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
    ApiOkResponse({ type: CallbackReceivedDto }),
    ApiBadRequestResponse({ description: '`malformed_form`, `malformed_json`, `invalid_unicode` or `body_not_object`', content: PROBLEM }),
    ApiUnauthorizedResponse({ description: '`callback_unauthenticated`: the Authentication header is missing or wrong', content: PROBLEM }),
    ApiPayloadTooLargeResponse({ description: '`payload_too_large`: more than 1 MiB; `body_too_complex`: a JSON body with more than 50,000 keys and array items or nested deeper than 32', content: PROBLEM }),
    ApiUnprocessableEntityResponse({ description: '`validation_failed`, with `errors[]`', content: PROBLEM }),
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
@UseGuards(ConnectionCallbackGuard)
@Controller('v1/connections')
export class ConnectionCallbackController {
  constructor(
    private readonly connections: ConnectionsService,
    @Inject(mydexConfig.KEY) private readonly mydex: ConfigType<typeof mydexConfig>,
  ) {}

  @Post('callback')
  @HttpCode(200) // on the method itself: the Swagger CLI plugin reads it from the source
  @ApiOperation({ summary: 'Mydex: a member completed a First Time Connection (or a PDX notification)' })
  @CallbackEndpoint()
  create(@Body() body: unknown, @Req() request: FastifyRequest): Promise<CallbackReceivedDto> {
    return this.receive('POST', body, request);
  }

  @Put('callback')
  @HttpCode(200)
  @ApiOperation({ summary: 'Mydex: a member re-approved an updated Data Sharing Agreement' })
  @CallbackEndpoint()
  update(@Body() body: unknown, @Req() request: FastifyRequest): Promise<CallbackReceivedDto> {
    return this.receive('PUT', body, request);
  }

  // The body is typed unknown on purpose: a form and JSON arrive in different shapes (strings vs
  // numbers) and a notification is another shape again, so readCallbackDelivery validates it.
  private async receive(method: 'POST' | 'PUT', body: unknown, request: FastifyRequest): Promise<CallbackReceivedDto> {
    const delivery = readCallbackDelivery(body, this.mydex.connectionNid);
    const form = (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
    await this.connections.record(delivery, { method, contentType: form ? 'form' : 'json', requestId: String(request.id) });
    return RECEIVED;
  }
}
