import { Allow } from 'class-validator';
import { CatalogueRules, Trim } from './rule-constraints.js';

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
  @CatalogueRules()
  privateKey!: string;

  /** Only the boolean true accepts the terms. */
  @CatalogueRules()
  termsAccepted!: boolean;
}
