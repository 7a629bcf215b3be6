import { ERROR_CODES, type ErrorCode } from '../common/problem/error-codes.js';
import { problemTypeBaseFor, type ProblemDetails } from '../common/problem/problem-details.js';
import { validationFailedDetail } from '../common/problem/validation-exception.factory.js';

/**
 * The deployment the document's examples describe: the development server it lists
 * (`http://localhost:3000`), with the default problem `type` prefix. Fixed, so the generated
 * document does not depend on the machine that generates it.
 */
export const EXAMPLE_PUBLIC_BASE_URL = 'http://localhost:3000';
export const EXAMPLE_PROBLEM_TYPE_BASE = problemTypeBaseFor({ PUBLIC_BASE_URL: EXAMPLE_PUBLIC_BASE_URL });
export const EXAMPLE_REQUEST_ID = '3f0c6a0e-9d7e-4c8a-9a55-2f1f7f0b8f0e';

/** The detail the examples show for a code (real answers say more about the request). */
const DETAILS: Partial<Record<ErrorCode, string>> = {
  validation_failed: validationFailedDetail(1),
  not_found: 'There is no such error code; GET /errors lists them.',
  method_not_allowed: 'PATCH is not allowed here; use GET.',
  rate_limited: 'Too many requests; retry after the time in Retry-After.',
};

/** An example problem+json body for a code, as the filter writes it. */
export function exampleProblem(code: ErrorCode, status: number = ERROR_CODES[code].status): ProblemDetails {
  return {
    type: `${EXAMPLE_PROBLEM_TYPE_BASE}${code}`,
    title: ERROR_CODES[code].title,
    status,
    detail: DETAILS[code] ?? `${ERROR_CODES[code].title}.`,
    code,
    requestId: EXAMPLE_REQUEST_ID,
    ...(code === 'validation_failed'
      ? {
          errors: [
            {
              field: 'password',
              code: 'password_too_short',
              message: 'The password must be at least 8 characters long.',
              params: { min: 8 },
            },
          ],
        }
      : {}),
  };
}
