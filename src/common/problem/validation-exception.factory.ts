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
  const problems = fieldProblems(errors);
  return new ProblemException('validation_failed', `${problems.length} field error(s); see errors.`, { errors: problems });
}

function snake(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}
