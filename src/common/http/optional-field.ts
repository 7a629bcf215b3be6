import { ValidateIf } from 'class-validator';

/**
 * An optional body field: absent (`undefined`) skips its checks; anything else, `null` included, is
 * checked. class-validator's `@IsOptional()` also skips `null`, so `{"returnTo": null}` reached code
 * that expects a string or nothing and answered 500 (found by the fuzz suite). Request DTOs use this;
 * ESLint refuses `IsOptional` outside the environment schema.
 */
export function OptionalField(): PropertyDecorator {
  return ValidateIf((_object: object, value: unknown) => value !== undefined);
}
