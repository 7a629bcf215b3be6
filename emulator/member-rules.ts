import { checkPrivateKey, checkRegistration, type RegistrationDetails, type RuleViolation } from '../src/validation/registration-rules.js';
import { ruleFor, ruleIndex } from '../src/validation/rule-catalogue.js';
import { verifySecret } from './secrets.js';
import type { EmulatorStore } from './store.js';

/**
 * Mydex's checks on a new member, built only from the shared rules (src/validation): the 8
 * registration rules, case-insensitive uniqueness of MydexID and email [I], and the 4 Private Key rules.
 * The email format check is the BFF's own (`source: bff`, refusing only what cannot be an address):
 * Mydex publishes no email grammar, so the emulator is no stricter than the BFF there [I].
 */

/** The registration rules plus uniqueness, in rule order. */
export function checkNewMember(input: unknown, store: EmulatorStore): { details: RegistrationDetails; errors: RuleViolation[] } {
  const { details, errors } = checkRegistration(input);
  const all = [...errors];
  if (details.mydexid !== '' && store.memberByMydexid(details.mydexid)) all.push(taken('mydexid', 'mydexid_taken'));
  if (details.email !== '' && store.memberByEmail(details.email)) all.push(taken('email', 'email_taken'));
  all.sort((a, b) => ruleIndex('registration', a.field, a.code) - ruleIndex('registration', b.field, b.code));
  return { details, errors: all };
}

function taken(field: 'mydexid' | 'email', code: 'mydexid_taken' | 'email_taken'): RuleViolation {
  const rule = ruleFor('registration', field, code);
  return { field, code, message: rule.message, params: { ...rule.params } };
}

export interface PrivateKeyInput {
  mydexid: string;
  privateKey: unknown;
  termsAccepted: boolean;
}

/** The Private Key rules when the password is at hand (the LaCa registration form). */
export function checkPrivateKeyWithPassword(input: PrivateKeyInput & { password: string }): RuleViolation[] {
  return checkPrivateKey(input).errors;
}

/**
 * The Private Key rules when only the password's hash is kept (after `POST /api/pds`). The rule
 * "not the same as the password" compares trimmed values; the hash tells whether they are equal,
 * and the shared check is then given the private key itself as the password (equal) or no password
 * (the comparison passes), so its own code and message are reported.
 */
export async function checkPrivateKeyWithPasswordHash(input: PrivateKeyInput & { passwordHash: string }): Promise<RuleViolation[]> {
  const trimmed = typeof input.privateKey === 'string' ? input.privateKey.trim() : '';
  const same = trimmed !== '' && (await verifySecret(trimmed, input.passwordHash));
  return checkPrivateKey({
    mydexid: input.mydexid,
    password: same ? trimmed : undefined,
    privateKey: input.privateKey,
    termsAccepted: input.termsAccepted,
  }).errors;
}

/** The confirmation field of the emulator's forms (a typing check of the form, not one of Mydex's rules [I]). */
export function checkConfirmation(privateKey: unknown, confirmation: unknown): RuleViolation[] {
  const a = typeof privateKey === 'string' ? privateKey.trim() : '';
  const b = typeof confirmation === 'string' ? confirmation.trim() : '';
  if (a === '' || a === b) return [];
  return [
    {
      field: 'privateKeyConfirmation',
      code: 'private_key_confirmation_mismatch',
      message: 'The two private keys do not match.',
      params: {},
    },
  ];
}
