import { Allow } from 'class-validator';
import { differs, isPresent, isPrivateKeyLengthOk, isTermsAccepted } from './rule-catalogue.js';
import { InRuleOrder, Rule, Trim } from './rule-constraints.js';

/**
 * Mydex's Private Key form: its private-key rules and the terms. Only the emulator's form uses
 * it; the BFF never receives a private key and has no endpoint for one.
 */
export class PrivateKeyRulesDto {
  /** The member's MydexID (for the comparison only; it has no rules of its own here). */
  @Trim()
  @Allow()
  mydexid!: string;

  /** The member's password (for the comparison only). */
  @Trim()
  @Allow()
  password!: string;

  /** Trimmed before the rules [I]: the page says Mydex trims the registration fields, not the private key. */
  @Trim()
  @InRuleOrder(
    Rule('required', isPresent),
    Rule('private_key_same_as_mydexid', (value, object) => differs(value, object.mydexid)),
    Rule('private_key_same_as_password', (value, object) => differs(value, object.password)),
    Rule('private_key_length', isPrivateKeyLengthOk),
  )
  privateKey!: string;

  /** Only the boolean true accepts the terms. */
  @Rule('terms_not_accepted', isTermsAccepted)
  termsAccepted!: boolean;
}
