import { requireJsonObjectBody } from '../common/problem/problem-validation.pipe.js';
import { RegistrationDetailsDto } from './registration-details.dto.js';
import { checkRegistration, type RegistrationDetails, type RuleViolation } from './registration-rules.js';

/**
 * Checks a registration request body by hand, for POST /v1/validation/registration: that endpoint
 * answers 200 with the verdict, where the global ValidationPipe would answer 422. Throws 400
 * `body_not_object` as the pipe does for RegistrationDetailsDto (array, string, number, null or no
 * body); otherwise returns the trimmed details and violations, from the same DTO.
 */
export function checkRegistrationBody(body: unknown): { details: RegistrationDetails; errors: RuleViolation[] } {
  requireJsonObjectBody(RegistrationDetailsDto, body);
  return checkRegistration(body);
}
