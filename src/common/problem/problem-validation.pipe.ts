import { type ArgumentMetadata, ValidationPipe } from '@nestjs/common';
import { ProblemException } from './problem.exception.js';
import { validationProblem } from './validation-exception.factory.js';

/** Where a body DTO keeps the detail of its `body_not_object` answer (JsonObjectBody). */
const JSON_OBJECT_BODY = Symbol('jsonObjectBody');

export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Declares that a body DTO, and every class extending it, is answered 400 `body_not_object` (with
 * `detail`) when the body is not a JSON object: an array, a string, a number, a boolean, null, or no
 * body. Without it the ValidationPipe validates no body as `{}` and answers the DTO's field errors.
 */
export function JsonObjectBody(detail: string): ClassDecorator {
  return (target) => Reflect.defineMetadata(JSON_OBJECT_BODY, detail, target);
}

/**
 * Throws 400 `body_not_object` when `dto` (or a class it extends) declares @JsonObjectBody and
 * `body` is not a JSON object. The pipe below calls it; so does a route that must read the body
 * itself (POST /v1/validation/registration answers 200 with a verdict, never 422).
 */
export function requireJsonObjectBody(dto: object, body: unknown): void {
  const detail = Reflect.getMetadata(JSON_OBJECT_BODY, dto) as string | undefined;
  if (detail !== undefined && !isJsonObject(body)) throw new ProblemException('body_not_object', detail);
}

/**
 * The global ValidationPipe (CommonModule's APP_PIPE): DTOs transformed (trimming) and whitelisted,
 * every failed constraint reported (422 `validation_failed`, or a refusal: validationProblem), and a
 * body DTO's @JsonObjectBody checked first.
 */
export class ProblemValidationPipe extends ValidationPipe {
  constructor() {
    super({ transform: true, whitelist: true, forbidUnknownValues: true, stopAtFirstError: false, exceptionFactory: validationProblem });
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (metadata.type === 'body' && metadata.metatype !== undefined) requireJsonObjectBody(metadata.metatype, value);
    return super.transform(value, metadata);
  }
}
