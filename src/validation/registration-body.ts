import { ProblemException } from '../common/problem/problem.exception.js';
import { validationFailed } from '../common/problem/validation-exception.factory.js';
import { checkRegistration, isJsonObject, type RegistrationDetails, type RuleViolation } from './registration-rules.js';

/**
 * Checks a registration request body. Throws 400 `body_not_object` when the body is not a JSON object
 * (array, string, number, null or no body); otherwise returns the trimmed details and violations.
 */
export function checkRegistrationBody(body: unknown): { details: RegistrationDetails; errors: RuleViolation[] } {
  if (!isJsonObject(body)) {
    throw new ProblemException('body_not_object', 'Send the registration details as a JSON object.');
  }
  return checkRegistration(body);
}

/**
 * For POST /v1/registrations (own form): the trimmed details, or 422 `validation_failed` with the same
 * `errors[]` that POST /v1/validation/registration reports.
 */
export function requireValidRegistration(body: unknown): RegistrationDetails {
  const { details, errors } = checkRegistrationBody(body);
  if (errors.length > 0) {
    throw validationFailed(errors);
  }
  return details;
}
