import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProblemException } from '../common/problem/problem.exception.js';
import { ValidationController } from './validation.controller.js';
import { ValidationModule } from './validation.module.js';

/**
 * ValidationModule as a testing module. It has no providers (the rules are plain functions and DTO
 * classes), so there is nothing to override: the spec compiles the module alone, which also shows
 * it needs nothing from the rest of the app (no config, database or Mydex).
 */
describe('ValidationModule (testing module, on its own)', () => {
  let moduleRef: TestingModule;
  let validation: ValidationController;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [ValidationModule] }).compile();
    validation = moduleRef.get(ValidationController);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  it('accepts valid details, trimmed, and echoes nothing back', () => {
    const verdict = validation.checkRegistration({
      mydexid: '  alice2024 ',
      email: 'alice@example.org',
      password: 'correct horse',
      role: 'admin',
    });

    expect(verdict).toEqual({ valid: true, errors: [] });
  });

  it('refuses a MydexID with a dot with mydexid_not_alphanumeric, and only that', () => {
    const verdict = validation.checkRegistration({ mydexid: 'alice.smith', email: 'alice@example.org', password: 'correct horse' });

    expect(verdict.valid).toBe(false);
    expect(verdict.errors.map((error) => `${error.field}:${error.code}`)).toEqual(['mydexid:mydexid_not_alphanumeric']);
  });

  it('reports every broken rule at once, in field order', () => {
    const verdict = validation.checkRegistration({ mydexid: '2024', email: 'not an email', password: '2024' });

    expect(verdict.errors.map((error) => `${error.field}:${error.code}`)).toEqual([
      'mydexid:mydexid_digits_only',
      'email:email_invalid',
      'password:password_same_as_mydexid',
      'password:password_too_short',
    ]);
  });

  it('refuses a body that is not a JSON object with body_not_object (400)', () => {
    for (const body of [['alice2024'], 'alice2024', null]) {
      let refusal: unknown;
      try {
        validation.checkRegistration(body);
      } catch (error) {
        refusal = error;
      }
      expect(refusal).toBeInstanceOf(ProblemException);
      expect(refusal).toMatchObject({ code: 'body_not_object', status: 400 });
    }
  });

  it("publishes the rule catalogue with each rule's parameters", () => {
    const catalogue = validation.rules();

    expect(catalogue).toMatchObject({ trimmed: true, lengthUnit: 'codePoints' });
    expect(catalogue.rules).toContainEqual(
      expect.objectContaining({ form: 'registration', field: 'mydexid', code: 'mydexid_length', params: { min: 3, max: 60 } }),
    );
  });
});
