import { ApiProperty, type ApiPropertyOptions } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { registerDecorator } from 'class-validator';
import {
  checkedRules,
  formOf,
  isEmailAddress,
  ruleFor,
  trimField,
  type CheckedRule,
  type RuleCode,
  type RuleParams,
} from './rule-catalogue.js';

/**
 * class-validator constraints built from the catalogue. Each carries `context: { code, params }` (the
 * stable code and the rule's parameters that `errors[]` reports) and the catalogue's English message,
 * so the DTOs, the own-form 422 and the rules endpoint cannot drift apart.
 */

/** Trims string values before validation (Mydex trims every field); other values pass unchanged. */
export const Trim = (): PropertyDecorator => Transform(({ value }: { value: unknown }) => trimField(value));

/**
 * One catalogue rule as a class-validator constraint. `test` sees the (trimmed) value and the whole
 * object, and answers whether the rule is satisfied. The field is the decorated property and the form
 * is the one that field belongs to, so a rule names only its code: a property without that rule in
 * the catalogue throws when the class is defined (a bug, found at startup).
 */
export function Rule(code: RuleCode, test: (value: unknown, object: Record<string, unknown>) => boolean): PropertyDecorator {
  return (target, propertyName) => {
    const field = String(propertyName);
    const rule = ruleFor(formOf(field), field, code);
    Coded(code, rule.message, test, rule.params)(target, propertyName);
  };
}

/**
 * A constraint with a stable code (reported in `errors[].code`), an English message and the rule's
 * parameters (reported in `errors[].params`, so a frontend can translate the message), for fields
 * outside the catalogue (Mydex's callback); `Rule` is this with the catalogue's message and params.
 */
export function Coded(
  code: string,
  message: string,
  test: (value: unknown, object: Record<string, unknown>) => boolean,
  params: RuleParams = {},
): PropertyDecorator {
  return (target, propertyName) => {
    registerDecorator({
      // The constraint name keys the field's error; codes are unique per field.
      name: code,
      target: target.constructor,
      propertyName: String(propertyName),
      options: { message, context: { code, params } },
      validator: { validate: (value: unknown, args) => test(value, args?.object as Record<string, unknown>) },
    });
  };
}

/**
 * Applies property decorators in the order written. TypeScript applies stacked decorators bottom-up,
 * and class-validator reports a field's failures in registration order: this keeps rule order explicit.
 */
export function InRuleOrder(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, propertyName) => {
    for (const decorator of decorators) decorator(target, propertyName);
  };
}

/**
 * Every rule the BFF checks for a field, straight from the catalogue, in rule order: the field is the
 * decorated property (or `field`, for a property named otherwise) and the form the one that field
 * belongs to. A rule written into the catalogue with its `check` reaches every DTO that declares the
 * field this way, with nothing to edit here; a field without a rule the BFF checks throws when the
 * class is defined (a bug, found at startup).
 */
export function CatalogueRules(field?: string): PropertyDecorator {
  return (target, propertyName) => {
    const rules = rulesOfProperty(field ?? String(propertyName));
    for (const rule of rules) Coded(rule.code, rule.message, rule.check, rule.params)(target, propertyName);
  };
}

/** The rules the BFF checks for a field (of the form that field belongs to); none is a bug. */
function rulesOfProperty(field: string): CheckedRule[] {
  const form = formOf(field);
  const rules = checkedRules(form, field);
  if (rules.length === 0) throw new Error(`No rule the BFF checks for ${form}.${field}`);
  return rules;
}

/** The MydexID rules, in rule order: wherever a MydexID arrives (registration, Mydex's callback). */
export const MydexIdRules = (): PropertyDecorator => CatalogueRules('mydexid');

/**
 * `@ApiProperty` with the length limits the field's catalogue rules publish (`minLength` the largest
 * `params.min`, `maxLength` the smallest `params.max`), so a new limit in the catalogue reaches
 * `openapi.yaml` (after `npm run openapi`) without an edit here. A `pattern` is given by the caller:
 * a JSON Schema property has one, and the MydexID's rules have two.
 */
export function CatalogueProperty(options: ApiPropertyOptions = {}, field?: string): PropertyDecorator {
  return (target, propertyName) => {
    const params = rulesOfProperty(field ?? String(propertyName)).map((rule) => rule.params);
    const mins = params.flatMap((p) => (p.min === undefined ? [] : [p.min]));
    const maxes = params.flatMap((p) => (p.max === undefined ? [] : [p.max]));
    const limits = { ...(mins.length ? { minLength: Math.max(...mins) } : {}), ...(maxes.length ? { maxLength: Math.min(...maxes) } : {}) };
    ApiProperty({ ...limits, ...options } as ApiPropertyOptions)(target, propertyName);
  };
}

/**
 * The BFF's one email rule (`email_invalid`) for an optional email outside the registration form
 * (`email` on POST /v1/auth/oidc/authorize): a string must be a possible address (an empty one is
 * not); a value that is not a string is left to `IsString`.
 */
export const EmailAddress = (): PropertyDecorator => Rule('email_invalid', (value) => typeof value !== 'string' || isEmailAddress(value));
