import { ApiProperty } from '@nestjs/swagger';
import { JsonObjectBody } from '../common/problem/problem-validation.pipe.js';
import {
  differsIgnoringCase,
  EMAIL_MAX,
  EMAIL_PATTERN,
  isEmailWellFormed,
  isPasswordLongEnough,
  isPresent,
  MYDEXID_MAX,
  MYDEXID_MIN,
  MYDEXID_PATTERN,
  PASSWORD_MIN,
} from './rule-catalogue.js';
import { InRuleOrder, MydexIdRules, Rule, Trim } from './rule-constraints.js';

/**
 * The member's registration details, checked with Mydex's registration rules (uniqueness excepted: only
 * Mydex can tell). Used by POST /v1/validation/registration and POST /v1/registrations, which both
 * answer a body that is not a JSON object with 400 `body_not_object`.
 */
@JsonObjectBody('Send the registration details as a JSON object.')
export class RegistrationDetailsDto {
  /** The MydexID the member wants: ASCII letters and digits, not only digits, 3 to 60 characters. */
  @ApiProperty({ example: 'alice2024', minLength: MYDEXID_MIN, maxLength: MYDEXID_MAX, pattern: MYDEXID_PATTERN })
  @Trim()
  @MydexIdRules()
  mydexid!: string;

  /**
   * The member's email address, at most 254 characters. Only what cannot be an address is refused
   * (a BFF rule: internationalised and quoted addresses pass, and Mydex judges them).
   */
  @ApiProperty({ example: 'alice@example.org', maxLength: EMAIL_MAX, pattern: EMAIL_PATTERN })
  @Trim()
  @InRuleOrder(Rule('required', isPresent), Rule('email_invalid', isEmailWellFormed))
  email!: string;

  /** The MydexID password: at least 8 characters and not the MydexID (in any letter case). Never stored, logged or echoed. */
  @ApiProperty({ example: 'correct horse battery', minLength: PASSWORD_MIN, format: 'password', writeOnly: true })
  @Trim()
  @InRuleOrder(
    Rule('required', isPresent),
    Rule('password_same_as_mydexid', (value, object) => differsIgnoringCase(value, object.mydexid)),
    Rule('password_too_short', isPasswordLongEnough),
  )
  password!: string;
}
