import type { ValidationError } from 'class-validator';
import type { FieldProblem } from './problem.exception.js';
import { ProblemException } from './problem.exception.js';

/**
 * Flattens class-validator errors into `errors[]`: the field path, the stable code a constraint
 * declares in its context (`{ context: { code } }`), else the constraint name in snake_case, and the
 * rule's parameters the context declares (`{ context: { params } }`, catalogue rules), else `{}`.
 */
export function fieldProblems(errors: ValidationError[], parent = ''): FieldProblem[] {
  const out: FieldProblem[] = [];
  for (const error of errors) {
    const field = parent ? `${parent}.${error.property}` : error.property;
    for (const [name, message] of Object.entries(error.constraints ?? {})) {
      const context = error.contexts?.[name] as { code?: string; params?: Record<string, unknown> } | undefined;
      out.push({ field, code: context?.code ?? snake(name), message, params: { ...context?.params } });
    }
    if (error.children?.length) out.push(...fieldProblems(error.children, field));
  }
  return out;
}

export function validationProblem(errors: ValidationError[]): ProblemException {
  return validationFailed(fieldProblems(errors));
}

/** The detail of a `validation_failed` problem with `count` field errors (the OpenAPI examples use it too). */
export function validationFailedDetail(count: number): string {
  return `${count} field error(s); see errors.`;
}

/**
 * The one way to build 422 `validation_failed`: every field error in `errors[]`, and a detail that
 * counts them unless one is given (a single error whose message says it all).
 */
export function validationFailed(errors: FieldProblem[], detail: string = validationFailedDetail(errors.length)): ProblemException {
  return new ProblemException('validation_failed', detail, { errors });
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}
