import { ERROR_CODES, type ErrorCode } from './error-codes.js';
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

/** Where the BFF serves one page per code (src/errors/errors.controller.ts). */
export const ERROR_PAGES_PATH = '/errors/';

/**
 * The prefix of every problem `type`: PROBLEM_TYPE_BASE_URL when set (a `/` is added unless it ends in
 * `/`, `#` or `=`), else `{PUBLIC_BASE_URL}/errors/`, where GET /errors/{code} answers a page about
 * the code. The `type` is this prefix followed by the code.
 */
export function problemTypeBaseFor(env: { PUBLIC_BASE_URL: string; PROBLEM_TYPE_BASE_URL?: string }): string {
  const configured = env.PROBLEM_TYPE_BASE_URL?.trim();
  if (configured) return /[/#=]$/.test(configured) ? configured : `${configured}/`;
  return `${env.PUBLIC_BASE_URL.replace(/\/+$/, '')}${ERROR_PAGES_PATH}`;
}

// One BFF per process: createApp sets the prefix from the environment before it serves anything.
// Answers written outside Nest (Node's client errors, the metrics listener) read it too.
let typeBase = problemTypeBaseFor({ PUBLIC_BASE_URL: 'http://localhost:3000' });

export function setProblemTypeBase(base: string): void {
  typeBase = base;
}

/** The problem `type` URL of a code. */
export function problemType(code: ErrorCode): string {
  return `${typeBase}${code}`;
}

export function problemBody(
  code: ErrorCode,
  detail: string,
  requestId: string,
  extra: { status?: number; errors?: FieldProblem[]; extensions?: Record<string, unknown> } = {},
): ProblemDetails {
  const entry = ERROR_CODES[code];
  return {
    ...extra.extensions,
    type: problemType(code),
    title: entry.title,
    status: extra.status ?? entry.status,
    detail,
    code,
    requestId,
    ...(extra.errors ? { errors: extra.errors.map((entry) => ({ ...entry, params: entry.params ?? {} })) } : {}),
  };
}
