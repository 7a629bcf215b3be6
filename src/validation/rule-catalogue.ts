/**
 * The catalogue of Mydex's registration and Private Key rules: the single source of truth for codes,
 * limits, patterns and English messages. Plain TypeScript (no Nest), so the emulator, the DTOs, the
 * rules endpoint and the own-form strategy all read the same table.
 */

export type RuleForm = 'registration' | 'privateKey';
/**
 * Who states a rule: `mydex` for the rules Mydex publishes for the registration details and the Private Key form (its
 * registration page, "Validation of the MydexID and other attributes"), `bff` for what the BFF adds.
 */
export type RuleSource = 'mydex' | 'bff';
export type RegistrationField = 'mydexid' | 'email' | 'password';
export type PrivateKeyField = 'privateKey' | 'termsAccepted';

export interface RuleParams {
  /** Minimum length in Unicode code points, after trimming. */
  min?: number;
  /** Maximum length in Unicode code points, after trimming. */
  max?: number;
  /** A JavaScript regular expression (flag `u`) the trimmed value must match. */
  pattern?: string;
  /** The field whose trimmed value this one must differ from. */
  differentFrom?: string;
}

/**
 * A rule's predicate: sees the trimmed value and the whole (trimmed) object, and answers whether the
 * rule is satisfied. Every predicate but `required`'s passes a value that is not a non-empty string,
 * so a missing field reports only `required`.
 */
export type RuleCheck = (value: unknown, object: Readonly<Record<string, unknown>>) => boolean;

/** What every catalogue entry says; `code` is any string here so that RuleCode can be read off the table below. */
interface RuleEntryBase {
  form: RuleForm;
  field: string;
  code: string;
  params: RuleParams;
  message: string;
  /** `mydex`: one of Mydex's published rules; `bff`: our addition (Mydex may judge otherwise). */
  source: RuleSource;
}

/**
 * A rule the BFF checks itself, with its predicate: the DTOs (`CatalogueRules()`), the emulator's
 * forms and the benchmark baseline all run this `check`, so a rule's predicate is named once.
 */
interface LocalRuleEntry extends RuleEntryBase {
  local: true;
  check: RuleCheck;
}

/** A rule only Mydex can check (uniqueness): the BFF never reports it itself, so it has no predicate. */
interface MydexOnlyRuleEntry extends RuleEntryBase {
  local: false;
  check?: undefined;
}

type RuleEntry = LocalRuleEntry | MydexOnlyRuleEntry;

/** A catalogue rule, its code narrowed to the catalogue's codes. `check` is not published (GET /v1/validation/rules leaves it out). */
export type RuleDefinition = RuleEntry & { code: RuleCode };

/** A catalogue rule the BFF checks itself: its `check` is there. */
export type CheckedRule = LocalRuleEntry & { code: RuleCode };

export const MYDEXID_MIN = 3;
export const MYDEXID_MAX = 60;
export const EMAIL_MAX = 254;
export const PASSWORD_MIN = 8;
export const PRIVATE_KEY_MIN = 8;
export const PRIVATE_KEY_MAX = 128;

/** ASCII letters and digits only ("alphanumeric" in Mydex's rule 3 [S]; that it means ASCII is [I]). */
export const MYDEXID_PATTERN = '^[A-Za-z0-9]+$';
/** At least one character that is not an ASCII digit (rule 4, "not made up exclusively of numbers"). */
export const MYDEXID_NOT_DIGITS_ONLY_PATTERN = '[^0-9]';
/**
 * The BFF's one email rule (`email_invalid`, ours: Mydex publishes no email grammar [I]), used by the
 * own form and by `email` on POST /v1/auth/oidc/authorize. It refuses only what cannot be an address
 * and leaves the rest to Mydex: internationalised addresses (`ünï@bücher.de`), quoted local parts
 * (`"john doe"@example.org`), single-label or numeric domains all pass. Refused: no `@`, an empty
 * local part or domain (split at the last `@`), white space outside a quoted string (a `"` in the
 * local part opens one, which must close before the `@`), a control character or a lone surrogate
 * anywhere (RFC 5321/6531 allow neither, not even quoted), and more than EMAIL_MAX code points
 * (checked before the pattern). Every alternative starts with a different character, so the pattern
 * cannot backtrack exponentially.
 */
export const EMAIL_PATTERN = String.raw`^(?:[^\s\p{Cc}\p{Cs}"]|"(?:[^"\\\p{Cc}\p{Cs}]|\\[^\p{Cc}\p{Cs}])*")+@[^\s\p{Cc}\p{Cs}@]+$`;

const mydexidPattern = new RegExp(MYDEXID_PATTERN, 'u');
const notDigitsOnlyPattern = new RegExp(MYDEXID_NOT_DIGITS_ONLY_PATTERN, 'u');
const emailPattern = new RegExp(EMAIL_PATTERN, 'u');

/**
 * The rules in rule order: a field's violations are always reported in this order. `as const`, so
 * RuleCode is read off the table: a new rule's code exists once it is written here. Each rule the BFF
 * checks carries its predicate (`check`, defined below); the type refuses a local rule without one.
 */
const CATALOGUE = [
  // Registration details: Mydex's rules 1 to 8, grouped by field, and our email format check.
  {
    form: 'registration',
    field: 'mydexid',
    code: 'required',
    params: {},
    message: 'Enter a MydexID.',
    local: true,
    check: isPresent,
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'mydexid',
    code: 'mydexid_taken',
    params: {},
    message: 'This MydexID is already in use; choose another.',
    local: false,
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'mydexid',
    code: 'mydexid_not_alphanumeric',
    params: { pattern: MYDEXID_PATTERN },
    message: 'A MydexID may contain only the letters A to Z and the digits 0 to 9.',
    local: true,
    check: isMydexIdAlphanumeric,
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'mydexid',
    code: 'mydexid_digits_only',
    params: { pattern: MYDEXID_NOT_DIGITS_ONLY_PATTERN },
    message: 'A MydexID cannot be made up only of digits.',
    local: true,
    check: isMydexIdNotDigitsOnly,
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'mydexid',
    code: 'mydexid_length',
    params: { min: MYDEXID_MIN, max: MYDEXID_MAX },
    message: `A MydexID must be ${MYDEXID_MIN} to ${MYDEXID_MAX} characters long.`,
    local: true,
    check: isMydexIdLengthOk,
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'email',
    code: 'required',
    params: {},
    message: 'Enter an email address.',
    local: true,
    check: isPresent,
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'email',
    code: 'email_taken',
    params: {},
    message: 'This email address is already in use.',
    local: false,
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'email',
    code: 'email_invalid',
    params: { max: EMAIL_MAX, pattern: EMAIL_PATTERN },
    message: `Enter a valid email address of at most ${EMAIL_MAX} characters.`,
    local: true,
    check: isEmailWellFormed,
    source: 'bff',
  },
  {
    form: 'registration',
    field: 'password',
    code: 'required',
    params: {},
    message: 'Enter a password.',
    local: true,
    check: isPresent,
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'password',
    code: 'password_same_as_mydexid',
    params: { differentFrom: 'mydexid' },
    message: 'The password must not be the same as the MydexID.',
    local: true,
    check: (value, object) => differsIgnoringCase(value, object.mydexid),
    source: 'mydex',
  },
  {
    form: 'registration',
    field: 'password',
    code: 'password_too_short',
    params: { min: PASSWORD_MIN },
    message: `The password must be at least ${PASSWORD_MIN} characters long.`,
    local: true,
    check: isPasswordLongEnough,
    source: 'mydex',
  },
  // The Private Key form (Mydex's rules 1 to 4; the BFF never receives a private key).
  {
    form: 'privateKey',
    field: 'privateKey',
    code: 'required',
    params: {},
    message: 'Enter a private key.',
    local: true,
    check: isPresent,
    source: 'mydex',
  },
  {
    form: 'privateKey',
    field: 'privateKey',
    code: 'private_key_same_as_mydexid',
    params: { differentFrom: 'mydexid' },
    message: 'The private key must not be the same as the MydexID.',
    local: true,
    check: (value, object) => differs(value, object.mydexid),
    source: 'mydex',
  },
  {
    form: 'privateKey',
    field: 'privateKey',
    code: 'private_key_same_as_password',
    params: { differentFrom: 'password' },
    message: 'The private key must not be the same as the password.',
    local: true,
    check: (value, object) => differs(value, object.password),
    source: 'mydex',
  },
  {
    form: 'privateKey',
    field: 'privateKey',
    code: 'private_key_length',
    params: { min: PRIVATE_KEY_MIN, max: PRIVATE_KEY_MAX },
    message: `The private key must be ${PRIVATE_KEY_MIN} to ${PRIVATE_KEY_MAX} characters long.`,
    local: true,
    check: isPrivateKeyLengthOk,
    source: 'mydex',
  },
  {
    form: 'privateKey',
    field: 'termsAccepted',
    code: 'terms_not_accepted',
    params: {},
    message: 'Accept the terms of service to continue.',
    local: true,
    check: isTermsAccepted,
    source: 'mydex',
  },
] as const satisfies readonly RuleEntry[];

/** Every stable code of the catalogue. */
export type RuleCode = (typeof CATALOGUE)[number]['code'];

export const RULES: readonly RuleDefinition[] = CATALOGUE;

/** The rules the BFF checks itself for a form (and field), in rule order, each with its `check`. */
export function checkedRules(form: RuleForm, field?: string): CheckedRule[] {
  return RULES.filter((rule): rule is CheckedRule => rule.local && rule.form === form && (field === undefined || rule.field === field));
}

/** The catalogue as GET /v1/validation/rules publishes it: every entry without its `check`. */
export const PUBLISHED_RULES = RULES.map(({ check: _check, ...rule }) => ({ ...rule, params: { ...rule.params } }));

/** The catalogue entry for a field and code; throws on a pair that is not in the catalogue (a bug). */
export function ruleFor(form: RuleForm, field: string, code: RuleCode): RuleDefinition {
  const rule = RULES.find((r) => r.form === form && r.field === field && r.code === code);
  if (!rule) throw new Error(`No rule ${code} for ${form}.${field}`);
  return rule;
}

/**
 * The form a field belongs to: field names are unique across the forms (the Private Key form's
 * `mydexid` and `password` carry no rules of their own), so a DTO property names its form.
 */
export function formOf(field: string): RuleForm {
  const rule = RULES.find((r) => r.field === field);
  if (!rule) throw new Error(`No rule for a field named ${field}`);
  return rule.form;
}

const RULE_POSITIONS = new Map(RULES.map((r, index) => [`${r.form}.${r.field}.${r.code}`, index]));

/** Position of a rule in the catalogue: sorts violations into rule order. */
export function ruleIndex(form: RuleForm, field: string, code: string): number {
  return RULE_POSITIONS.get(`${form}.${field}.${code}`) ?? RULES.length;
}

// ---------------------------------------------------------------------------------------------
// Predicates on already-trimmed values. Each answers "does the value satisfy the rule?"; every rule
// but `required` passes a value that is not a non-empty string, so a missing field reports only
// `required`.

/** Trims strings (Mydex trims every field); anything else is returned unchanged. */
export function trimField(value: unknown): unknown {
  return typeof value === 'string' ? value.trim() : value;
}

export function isPresent(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0;
}

/** Length in Unicode code points (an emoji counts once, as a member would count it). How Mydex counts is not documented [I]. */
export function codePointLength(value: string): number {
  let n = 0;
  for (const _ of value) n++;
  return n;
}

export function isMydexIdAlphanumeric(value: unknown): boolean {
  return !isPresent(value) || mydexidPattern.test(value);
}

export function isMydexIdNotDigitsOnly(value: unknown): boolean {
  return !isPresent(value) || notDigitsOnlyPattern.test(value);
}

export function isMydexIdLengthOk(value: unknown): boolean {
  if (!isPresent(value)) return true;
  const length = codePointLength(value);
  return length >= MYDEXID_MIN && length <= MYDEXID_MAX;
}

/**
 * The one email rule (see EMAIL_PATTERN): true when the (trimmed) string could be an address. An
 * empty string is not one; callers that treat a missing value separately (`required`) use
 * isEmailWellFormed.
 */
export function isEmailAddress(value: string): boolean {
  // The length check comes first so the pattern never runs on long input.
  return codePointLength(value) <= EMAIL_MAX && emailPattern.test(value);
}

/** `email_invalid` on the own form: passes a missing value (reported as `required` instead). */
export function isEmailWellFormed(value: unknown): boolean {
  return !isPresent(value) || isEmailAddress(value);
}

/** True unless both are non-empty strings and equal (compared exactly, after trimming). */
export function differs(value: unknown, other: unknown): boolean {
  return !isPresent(value) || !isPresent(other) || value !== other;
}

/**
 * True unless both are non-empty strings equal when lower-cased (after trimming): "the password is
 * not the same as the MydexID". Mydex compares MydexIDs case-insensitively for uniqueness, so
 * `alice123` is the same MydexID as `Alice123`, and as a password it is refused too [I].
 */
export function differsIgnoringCase(value: unknown, other: unknown): boolean {
  return !isPresent(value) || !isPresent(other) || value.toLowerCase() !== other.toLowerCase();
}

export function isPasswordLongEnough(value: unknown): boolean {
  return !isPresent(value) || codePointLength(value) >= PASSWORD_MIN;
}

export function isPrivateKeyLengthOk(value: unknown): boolean {
  if (!isPresent(value)) return true;
  const length = codePointLength(value);
  return length >= PRIVATE_KEY_MIN && length <= PRIVATE_KEY_MAX;
}

/** Only the boolean true accepts the terms: the string "true" or 1 do not. */
export function isTermsAccepted(value: unknown): boolean {
  return value === true;
}
