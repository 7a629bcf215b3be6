import { ERROR_CODES, PROBLEM_TYPE_BASE, type ErrorCode } from './error-codes.js';
import type { FieldProblem } from './problem.exception.js';

/** RFC 9457 problem details as the BFF writes them. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  requestId: string;
  instance?: string;
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';

export function problemBody(
  code: ErrorCode,
  detail: string,
  requestId: string,
  extra: { status?: number; errors?: FieldProblem[]; extensions?: Record<string, unknown> } = {},
): ProblemDetails {
  const entry = ERROR_CODES[code];
  return {
    ...extra.extensions,
    type: `${PROBLEM_TYPE_BASE}${code}`,
    title: entry.title,
    status: extra.status ?? entry.status,
    detail,
    code,
    requestId,
    ...(extra.errors ? { errors: extra.errors } : {}),
  };
}
