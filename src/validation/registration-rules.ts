import { plainToInstance } from 'class-transformer';
import { validateSync, type ValidationError } from 'class-validator';
import { isJsonObject } from '../common/problem/problem-validation.pipe.js';
import { PrivateKeyRulesDto } from './private-key-rules.dto.js';
import { RegistrationDetailsDto } from './registration-details.dto.js';
import { ruleIndex, type RuleForm, type RuleParams } from './rule-catalogue.js';

/**
 * The registration and Private Key checks as plain functions, usable outside Nest (the Mydex
 * emulator's forms, the own-form strategy, the validation endpoint). They run the same class-validator
 * DTOs that the Nest ValidationPipe runs.
 */

export { PrivateKeyRulesDto } from './private-key-rules.dto.js';
export { RegistrationDetailsDto } from './registration-details.dto.js';
export { RULES, type RuleCode, type RuleDefinition, type RuleParams } from './rule-catalogue.js';

/** One failed rule: the field, the stable code, the English message and the rule's parameters (for translations). */
export interface RuleViolation {
  field: string;
  code: string;
  message: string;
  params: RuleParams;
}

/** Registration details after trimming; a field that was missing or not a string is ''. */
export interface RegistrationDetails {
  mydexid: string;
  email: string;
  password: string;
}

// Keep neither the object nor the value in ValidationErrors: the password must not travel further.
/** How every DTO is validated: unknown objects refused, and neither the object nor the values copied into errors. */
export const VALIDATOR_OPTIONS = { forbidUnknownValues: true, validationError: { target: false, value: false } } as const;

/**
 * Trims, runs the registration rules (RegistrationDetailsDto) and returns every violation in rule
 * order. Only `mydexid`, `email` and `password` are read; other fields are ignored. Never reports
 * `mydexid_taken` or `email_taken`: only Mydex can tell.
 */
export function checkRegistration(input: unknown): { details: RegistrationDetails; errors: RuleViolation[] } {
  const source = asRecord(input);
  const dto = plainToInstance(RegistrationDetailsDto, {
    mydexid: ownField(source, 'mydexid'),
    email: ownField(source, 'email'),
    password: ownField(source, 'password'),
  });
  const errors = violations('registration', validateSync(dto, VALIDATOR_OPTIONS));
  return {
    details: { mydexid: stringOrEmpty(dto.mydexid), email: stringOrEmpty(dto.email), password: stringOrEmpty(dto.password) },
    errors,
  };
}

/**
 * The Private Key form: input `{ mydexid, password, privateKey, termsAccepted }`; the private-key
 * rules and the terms (only the boolean true accepts them).
 */
export function checkPrivateKey(input: unknown): { errors: RuleViolation[] } {
  const source = asRecord(input);
  const dto = plainToInstance(PrivateKeyRulesDto, {
    mydexid: ownField(source, 'mydexid'),
    password: ownField(source, 'password'),
    privateKey: ownField(source, 'privateKey'),
    termsAccepted: ownField(source, 'termsAccepted'),
  });
  return { errors: violations('privateKey', validateSync(dto, VALIDATOR_OPTIONS)) };
}

/** class-validator errors → violations with the catalogue code, sorted into rule order. */
export function violations(form: RuleForm, errors: ValidationError[]): RuleViolation[] {
  const out: RuleViolation[] = [];
  for (const error of errors) {
    for (const [name, message] of Object.entries(error.constraints ?? {})) {
      const context = error.contexts?.[name] as { code?: string; params?: RuleParams } | undefined;
      out.push({ field: error.property, code: context?.code ?? name, message, params: { ...context?.params } });
    }
  }
  // Decorators are registered in rule order already; the sort makes the order independent of that.
  return out.sort((a, b) => ruleIndex(form, a.field, a.code) - ruleIndex(form, b.field, b.code));
}

function asRecord(input: unknown): Record<string, unknown> {
  return isJsonObject(input) ? input : {};
}

/** Own properties only, so nothing is read from the prototype chain. */
function ownField(source: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(source, name) ? source[name] : undefined;
}

function stringOrEmpty(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
