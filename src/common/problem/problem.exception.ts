import { ERROR_CODES, type ErrorCode } from './error-codes.js';

/**
 * One entry of a problem's `errors[]`. `params` are the rule's parameters (e.g. `{ "min": 8 }`, from
 * the rule catalogue), so a frontend can translate by `code` without parsing `message`; an entry built
 * without them is written with `params: {}`.
 */
export interface FieldProblem {
  field: string;
  code: string;
  message: string;
  params?: object;
}

export interface ProblemOptions {
  errors?: FieldProblem[];
  /** Extra response headers, e.g. Retry-After. */
  headers?: Record<string, string>;
  /** Overrides the catalogue status (rare: only where the contract says so). */
  status?: number;
  /** Additional members of the problem object (never secrets). */
  extensions?: Record<string, unknown>;
}

/**
 * The one exception domain code throws. It carries a stable code; the global filter turns it into
 * RFC 9457 problem+json. Nothing else needs to know about HTTP statuses.
 */
export class ProblemException extends Error {
  readonly status: number;

  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly options: ProblemOptions = {},
  ) {
    super(detail);
    this.name = 'ProblemException';
    this.status = options.status ?? ERROR_CODES[code].status;
  }
}
