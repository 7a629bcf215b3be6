import { JsonObjectBody } from '../common/problem/problem-validation.pipe.js';
import { EMAIL_PATTERN, MYDEXID_PATTERN } from './rule-catalogue.js';
import { CatalogueProperty, CatalogueRules, Trim } from './rule-constraints.js';

/**
 * The member's registration details, checked with Mydex's registration rules (uniqueness excepted: only
 * Mydex can tell). Used by POST /v1/validation/registration and POST /v1/registrations, which both
 * answer a body that is not a JSON object with 400 `body_not_object`.
 */
@JsonObjectBody('Send the registration details as a JSON object.')
export class RegistrationDetailsDto {
  /** The MydexID the member wants: ASCII letters and digits, not only digits, 3 to 60 characters. */
  @CatalogueProperty({ example: 'alice2024', pattern: MYDEXID_PATTERN })
  @Trim()
  @CatalogueRules()
  mydexid!: string;

  /**
   * The member's email address, at most 254 characters. Only what cannot be an address is refused
   * (a BFF rule: internationalised and quoted addresses pass, and Mydex judges them).
   */
  @CatalogueProperty({ example: 'alice@example.org', pattern: EMAIL_PATTERN })
  @Trim()
  @CatalogueRules()
  email!: string;

  /** The MydexID password: at least 8 characters and not the MydexID (in any letter case). Never stored, logged or echoed. */
  @CatalogueProperty({ example: 'correct horse battery', format: 'password', writeOnly: true })
  @Trim()
  @CatalogueRules()
  password!: string;
}
