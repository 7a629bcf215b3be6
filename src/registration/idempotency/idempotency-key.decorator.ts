import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { IdempotencyStore } from './idempotency.store.js';

/**
 * The request's `Idempotency-Key` (undefined when absent), or 400 `idempotency_key_invalid`. A
 * parameter decorator so that the header is judged while Nest reads the parameters: declared before
 * `@Body()`, a malformed key is answered before the body's ValidationPipe has finished (Nest runs the
 * parameters in order and answers the first that fails), as when the handler checked it first.
 */
export const IdempotencyKeyHeader = createParamDecorator((_data: unknown, context: ExecutionContext): string | undefined =>
  IdempotencyStore.checkKey(context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key']),
);
