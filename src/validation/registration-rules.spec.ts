import { getMetadataStorage, validateSync } from 'class-validator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProblemException } from '../common/problem/problem.exception.js';
import { ProblemValidationPipe } from '../common/problem/problem-validation.pipe.js';
import {
  EMAILS_ACCEPTED,
  EMAILS_REFUSED,
  emailLike,
  expectedPrivateKeyViolations,
  expectedRegistrationViolations,
  privateKeyBody,
  referenceEmailAddress,
  registrationBody,
} from '../../test/support/registration-reference.js';
import { checkRegistrationBody } from './registration-body.js';
import {
  checkPrivateKey,
  checkRegistration,
  PrivateKeyRulesDto,
  RegistrationDetailsDto,
  RULES,
  VALIDATOR_OPTIONS,
  violations,
} from './registration-rules.js';
import { EMAIL_PATTERN, formOf, isEmailAddress, isPasswordLongEnough, PASSWORD_MIN, ruleFor } from './rule-catalogue.js';
import { CatalogueRules, Rule } from './rule-constraints.js';

const valid = { mydexid: 'alice2024', email: 'alice@example.org', password: 'correct horse' };
const codes = (input: unknown) => checkRegistration(input).errors.map((e) => `${e.field}:${e.code}`);
const keyCodes = (input: unknown) => checkPrivateKey(input).errors.map((e) => `${e.field}:${e.code}`);
const validKey = { mydexid: 'alice2024', password: 'correct horse', privateKey: 'my private key', termsAccepted: true };

describe('registration rules: required', () => {
  it('accepts a complete, valid set of details', () => {
    expect(checkRegistration(valid)).toEqual({ details: valid, errors: [] });
  });

  it.each([
    ['missing', undefined],
    ['null', null],
    ['a number', 12345678],
    ['a boolean', true],
    ['an object', { value: 'alice2024' }],
    ['an array', ['alice2024']],
    ['empty', ''],
    ['white space only', ' \t\n\u00a0\u3000 '],
  ])('reports required, and nothing else, for a MydexID that is %s', (_label, mydexid) => {
    expect(codes({ ...valid, mydexid })).toEqual(['mydexid:required']);
  });

  it('reports required for each missing field, in field order', () => {
    expect(codes({})).toEqual(['mydexid:required', 'email:required', 'password:required']);
  });

  it('treats a value that is not an object as no details at all', () => {
    for (const input of [null, [valid], 'alice2024', 42, undefined]) {
      expect(codes(input)).toEqual(['mydexid:required', 'email:required', 'password:required']);
    }
  });

  it('reads only own fields, ignores unknown ones and does not return them', () => {
    const input = Object.assign(Object.create({ mydexid: 'inherited1' }) as object, {
      email: valid.email,
      password: valid.password,
      role: 'admin',
    });
    const result = checkRegistration(input);
    expect(result.errors.map((e) => e.code)).toEqual(['required']);
    expect(result.details).toEqual({ mydexid: '', email: valid.email, password: valid.password });
  });
});

describe('registration rules: MydexID', () => {
  it.each([
    [2, ['mydexid:mydexid_length']],
    [3, []],
    [60, []],
    [61, ['mydexid:mydexid_length']],
  ])('with %i characters reports %j', (length, expected) => {
    expect(codes({ ...valid, mydexid: 'a'.repeat(length - 1) + '1' })).toEqual(expected);
  });

  it('rejects a MydexID made only of digits and accepts one with a single letter', () => {
    expect(codes({ ...valid, mydexid: '1234567' })).toEqual(['mydexid:mydexid_digits_only']);
    expect(codes({ ...valid, mydexid: '123456a' })).toEqual([]);
  });

  it.each([
    ['an accented letter', 'café2024'],
    ['Cyrillic letters', 'Дмитрий'],
    ['full-width digits and letters', 'ａｌｉｃｅ１'],
    ['an underscore', 'alice_2024'],
    ['an inner space', 'alice 2024'],
    ['an emoji', 'alice😀'],
  ])('rejects a MydexID with %s as not alphanumeric', (_label, mydexid) => {
    expect(codes({ ...valid, mydexid })).toEqual(['mydexid:mydexid_not_alphanumeric']);
  });

  it('counts full-width digits as not alphanumeric rather than as digits', () => {
    expect(codes({ ...valid, mydexid: '１２３' })).toEqual(['mydexid:mydexid_not_alphanumeric']);
  });

  it('trims surrounding white space before checking and returns the trimmed value', () => {
    const result = checkRegistration({ ...valid, mydexid: ' \t alice2024 \n' });
    expect(result.errors).toEqual([]);
    expect(result.details.mydexid).toBe('alice2024');
  });

  it('counts the length after trimming: 2 characters with padding are still too short', () => {
    expect(codes({ ...valid, mydexid: '   ab   ' })).toEqual(['mydexid:mydexid_length']);
  });

  it('counts length in code points: two emoji are two characters', () => {
    expect(codes({ ...valid, mydexid: '😀😀' })).toEqual(['mydexid:mydexid_not_alphanumeric', 'mydexid:mydexid_length']);
    expect(codes({ ...valid, mydexid: '😀😀😀' })).toEqual(['mydexid:mydexid_not_alphanumeric']);
  });

  it('reports every failure of a field, in rule order', () => {
    expect(codes({ ...valid, mydexid: '12' })).toEqual(['mydexid:mydexid_digits_only', 'mydexid:mydexid_length']);
    expect(codes({ ...valid, mydexid: 'é'.repeat(61) })).toEqual(['mydexid:mydexid_not_alphanumeric', 'mydexid:mydexid_length']);
  });

  it('never reports mydexid_taken or email_taken: only Mydex can tell', () => {
    const reported = new Set(fc.sample(registrationBody, 300).flatMap((body) => checkRegistration(body).errors.map((e) => e.code)));
    expect(reported.has('mydexid_taken')).toBe(false);
    expect(reported.has('email_taken')).toBe(false);
  });
});

describe("registration rules: email (the BFF's own rule, loosened to what cannot be an address)", () => {
  it.each(EMAILS_ACCEPTED)('accepts %s', (_label, email) => {
    const result = checkRegistration({ ...valid, email });
    expect(result.errors).toEqual([]);
    expect(result.details.email).toBe(email.trim());
  });

  it.each(EMAILS_REFUSED)('refuses %s as email_invalid', (_label, email) => {
    expect(codes({ ...valid, email })).toEqual(['email:email_invalid']);
  });

  it('counts the 254-character limit in code points: 127 emoji and an @ with a domain fit, one more does not', () => {
    const of = (n: number) => `${'😀'.repeat(n)}@${'b'.repeat(250 - n)}.de`;
    expect(Array.from(of(10))).toHaveLength(254);
    expect(codes({ ...valid, email: of(10) })).toEqual([]);
    expect(codes({ ...valid, email: `${of(10)}x` })).toEqual(['email:email_invalid']);
  });

  it('reports required, not email_invalid, for a missing or blank address', () => {
    expect(codes({ ...valid, email: '  ' })).toEqual(['email:required']);
    expect(codes({ ...valid, email: undefined })).toEqual(['email:required']);
  });

  it('isEmailAddress refuses the empty string (an optional email, when given, must be an address)', () => {
    expect(isEmailAddress('')).toBe(false);
    expect(isEmailAddress('ünï@bücher.de')).toBe(true);
  });
});

describe('registration rules: password', () => {
  it('rejects a password equal to the MydexID after trimming both', () => {
    expect(codes({ ...valid, mydexid: ' alice2024', password: 'alice2024   ' })).toEqual(['password:password_same_as_mydexid']);
  });

  it.each([
    ['Alice123', 'alice123'],
    ['alice123', 'ALICE123'],
    ['aLiCe2024', ' AlIcE2024 '],
  ])('compares the password with the MydexID ignoring case [I]: MydexID %j, password %j is refused', (mydexid, password) => {
    expect(codes({ ...valid, mydexid, password })).toEqual(['password:password_same_as_mydexid']);
  });

  it('still accepts a password that differs from the MydexID in more than letter case', () => {
    expect(codes({ ...valid, mydexid: 'alice123', password: 'alice1234' })).toEqual([]);
  });

  it('compares the private key with the MydexID exactly (the issue changed the password rule only)', () => {
    expect(keyCodes({ ...validKey, mydexid: 'Alice2024key', privateKey: 'alice2024KEY' })).toEqual([]);
  });

  it('does not compare with a MydexID that is missing', () => {
    expect(codes({ email: valid.email, password: 'alice2024' })).toEqual(['mydexid:required']);
  });

  it('reports both rules when a short password equals the MydexID', () => {
    expect(codes({ ...valid, mydexid: 'abc', password: 'abc' })).toEqual([
      'password:password_same_as_mydexid',
      'password:password_too_short',
    ]);
  });

  it.each([
    ['7 ASCII characters', 'abcdefg', ['password:password_too_short']],
    ['8 ASCII characters', 'abcdefgh', []],
    ['7 code points with an emoji (8 UTF-16 units)', 'abcdef😀', ['password:password_too_short']],
    ['8 code points with an emoji', 'abcdefg😀', []],
    ['7 emoji (14 UTF-16 units)', '😀'.repeat(7), ['password:password_too_short']],
    ['8 emoji', '😀'.repeat(8), []],
    ['8 characters of which 2 are surrounding spaces', ' abcdef ', ['password:password_too_short']],
  ])('with %s reports %j', (_label, password, expected) => {
    expect(codes({ ...valid, password })).toEqual(expected);
  });
});

describe('Private Key form rules', () => {
  it('accepts a valid key with the terms accepted', () => {
    expect(keyCodes(validKey)).toEqual([]);
  });

  it.each([
    [7, ['privateKey:private_key_length']],
    [8, []],
    [128, []],
    [129, ['privateKey:private_key_length']],
  ])('with a key of %i characters reports %j', (length, expected) => {
    expect(keyCodes({ ...validKey, privateKey: 'k'.repeat(length) })).toEqual(expected);
  });

  it('counts the key length in code points', () => {
    expect(keyCodes({ ...validKey, privateKey: '🔑'.repeat(7) })).toEqual(['privateKey:private_key_length']);
    expect(keyCodes({ ...validKey, privateKey: '🔑'.repeat(128) })).toEqual([]);
  });

  it('reports required and nothing else for a missing or blank key', () => {
    expect(keyCodes({ ...validKey, privateKey: undefined })).toEqual(['privateKey:required']);
    expect(keyCodes({ ...validKey, privateKey: '   ' })).toEqual(['privateKey:required']);
  });

  it('rejects a key equal to the MydexID or to the password, after trimming', () => {
    expect(keyCodes({ ...validKey, privateKey: ' alice2024 ' })).toEqual(['privateKey:private_key_same_as_mydexid']);
    expect(keyCodes({ ...validKey, privateKey: 'correct horse\t' })).toEqual(['privateKey:private_key_same_as_password']);
  });

  it('reports every failure of the key in rule order', () => {
    expect(keyCodes({ mydexid: 'abc', password: 'abc', privateKey: 'abc', termsAccepted: true })).toEqual([
      'privateKey:private_key_same_as_mydexid',
      'privateKey:private_key_same_as_password',
      'privateKey:private_key_length',
    ]);
  });

  it.each([
    ['false', false],
    ['missing', undefined],
    ['the string "true"', 'true'],
    ['the number 1', 1],
    ['"on"', 'on'],
  ])('does not take terms that are %s as accepted', (_label, termsAccepted) => {
    expect(keyCodes({ ...validKey, termsAccepted })).toEqual(['termsAccepted:terms_not_accepted']);
  });
});

describe('rule catalogue', () => {
  it("names each rule once, with a snake_case code, `required` first among its field's rules", () => {
    const keys = RULES.map((r) => `${r.form}.${r.field}.${r.code}`);
    expect(new Set(keys).size).toBe(keys.length);
    for (const rule of RULES) expect(rule.code).toMatch(/^[a-z]+(_[a-z]+)*$/);
    for (const field of new Set(RULES.map((r) => r.field))) {
      const codes = RULES.filter((r) => r.field === field).map((r) => r.code);
      if (codes.includes('required')) expect([field, codes[0]]).toEqual([field, 'required']);
    }
  });

  it("marks only the email format as the BFF's own rule; every other rule is Mydex's", () => {
    expect(RULES.filter((r) => r.source === 'bff').map((r) => `${r.form}.${r.field}.${r.code}`)).toEqual([
      'registration.email.email_invalid',
    ]);
  });

  it('belongs each field to one form, so a DTO property names the form of its rules', () => {
    const forms = new Map<string, Set<string>>();
    for (const rule of RULES) forms.set(rule.field, (forms.get(rule.field) ?? new Set()).add(rule.form));
    for (const [field, of] of forms) expect([field, [...of]]).toEqual([field, [formOf(field)]]);
  });

  it('Rule(code, test) takes its field from the property and refuses a code the catalogue lacks for it', () => {
    class Probe {
      @Rule('password_too_short', isPasswordLongEnough)
      password!: string;
    }
    const errors = violations('registration', validateSync(Object.assign(new Probe(), { password: 'short' }), VALIDATOR_OPTIONS));
    expect(errors).toEqual([
      {
        field: 'password',
        code: 'password_too_short',
        message: ruleFor('registration', 'password', 'password_too_short').message,
        params: { min: PASSWORD_MIN },
      },
    ]);
    expect(() => Rule('password_too_short', isPasswordLongEnough)(Probe.prototype, 'email')).toThrow(
      'No rule password_too_short for registration.email',
    );
  });

  it('gives every rule the BFF checks a predicate, and none to the rules only Mydex can check', () => {
    for (const rule of RULES) expect([rule.code, typeof rule.check]).toEqual([rule.code, rule.local ? 'function' : 'undefined']);
  });

  it.each([
    ['registration', RegistrationDetailsDto, ['mydexid', 'email', 'password']],
    ['privateKey', PrivateKeyRulesDto, ['privateKey', 'termsAccepted']],
  ] as const)('declares on the %s DTO exactly the catalogue rules the BFF checks, field by field, in rule order', (form, dto, fields) => {
    const declared = getMetadataStorage().getTargetValidationMetadatas(dto, '', true, false);
    for (const field of fields) {
      const codes = declared.filter((m) => m.propertyName === field).map((m) => (m.context as { code: string }).code);
      const catalogue = RULES.filter((r) => r.form === form && r.field === field && r.local).map((r) => r.code);
      expect([field, codes]).toEqual([field, catalogue]);
    }
  });

  it('CatalogueRules() refuses a property with no rule the BFF checks', () => {
    class Probe {
      nickname!: string;
    }
    expect(() => CatalogueRules()(Probe.prototype, 'nickname')).toThrow('No rule for a field named nickname');
    expect(() => CatalogueRules('mydexid')(Probe.prototype, 'nickname')).not.toThrow();
  });

  it('gives the message of the catalogue entry with each violation', () => {
    const { errors } = checkRegistration({ mydexid: '12', email: 'x', password: '12' });
    for (const error of errors) {
      expect(error.message).toBe(RULES.find((r) => r.form === 'registration' && r.field === error.field && r.code === error.code)?.message);
    }
  });

  it('publishes patterns that agree with the checks', () => {
    const pattern = (code: string) => new RegExp(RULES.find((r) => r.code === code)!.params.pattern!, 'u');
    expect(pattern('mydexid_not_alphanumeric').test('alice2024')).toBe(true);
    expect(pattern('mydexid_not_alphanumeric').test('café')).toBe(false);
    expect(pattern('mydexid_digits_only').test('1234')).toBe(false);
    expect(pattern('mydexid_digits_only').test('123a')).toBe(true);
    for (const [, email] of EMAILS_ACCEPTED) expect(pattern('email_invalid').test(email.trim())).toBe(true);
    for (const [, email] of EMAILS_REFUSED.filter(([label]) => !label.startsWith('255')))
      expect(pattern('email_invalid').test(email)).toBe(false);
  });

  it('publishes an email pattern that, with the length limit, is the check itself (over arbitrary strings)', () => {
    const published = new RegExp(RULES.find((r) => r.code === 'email_invalid')!.params.pattern!, 'u');
    expect(published.source).toBe(new RegExp(EMAIL_PATTERN, 'u').source);
    fc.assert(
      fc.property(fc.oneof(emailLike, fc.string({ unit: 'binary', maxLength: 40 })), (raw) => {
        const email = raw.trim();
        if (email === '') return;
        expect(isEmailAddress(email)).toBe(Array.from(email).length <= 254 && published.test(email));
        expect(isEmailAddress(email)).toBe(referenceEmailAddress(email));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('registration bodies: checkRegistrationBody (POST /v1/validation/registration) and the ValidationPipe (POST /v1/registrations)', () => {
  const pipe = new ProblemValidationPipe();
  const asBody = (body: unknown) => pipe.transform(body, { type: 'body', metatype: RegistrationDetailsDto });

  it.each([
    ['null', null],
    ['an empty array', []],
    ['an array of details', [valid]],
    ['a string', 'x'],
    ['a number', 3],
    ['true', true],
    ['no body', undefined],
  ])('refuses %s, not a JSON object, with 400 body_not_object in both', async (_label, body) => {
    const refusal = expect.objectContaining({
      code: 'body_not_object',
      status: 400,
      detail: 'Send the registration details as a JSON object.',
    });
    expect(() => checkRegistrationBody(body)).toThrow(refusal);
    await expect(asBody(body)).rejects.toThrow(refusal);
  });

  it('answers invalid details with 422 validation_failed carrying the errors checkRegistrationBody reports', async () => {
    const body = { mydexid: '12', email: 'x', password: '12' };
    const refusal = await asBody(body).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(ProblemException);
    expect(refusal).toMatchObject({ status: 422, code: 'validation_failed' });
    expect((refusal as ProblemException).options.errors).toEqual(checkRegistrationBody(body).errors);
  });

  it('gives the trimmed details, and only them, when valid', async () => {
    const body = { mydexid: ' alice2024 ', email: 'alice@example.org ', password: ' correct horse', role: 'admin' };
    expect({ ...((await asBody(body)) as object) }).toEqual(valid);
    expect(checkRegistrationBody(body).details).toEqual(valid);
  });
});

describe('properties', () => {
  it('checkRegistration agrees with an independent statement of the rules', () => {
    fc.assert(
      fc.property(registrationBody, (body) => {
        const { errors, details } = checkRegistration(body);
        expect(errors.map(({ field, code }) => ({ field, code }))).toEqual(expectedRegistrationViolations(body));
        for (const name of ['mydexid', 'email', 'password'] as const) {
          const raw = body[name];
          expect(details[name]).toBe(typeof raw === 'string' ? raw.trim() : '');
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('checkPrivateKey agrees with an independent statement of the rules', () => {
    fc.assert(
      fc.property(privateKeyBody, (body) => {
        expect(checkPrivateKey(body).errors.map(({ field, code }) => ({ field, code }))).toEqual(expectedPrivateKeyViolations(body));
      }),
      { numRuns: 2000 },
    );
  });

  it('the global ValidationPipe reports the same errors, in the same order, for the DTO', async () => {
    // CommonModule's APP_PIPE: what POST /v1/registrations runs on this DTO.
    const pipe = new ProblemValidationPipe();
    await fc.assert(
      fc.asyncProperty(registrationBody, async (body) => {
        const expected = checkRegistration(body).errors;
        try {
          await pipe.transform(structuredClone(body), { type: 'body', metatype: RegistrationDetailsDto });
          expect(expected).toEqual([]);
        } catch (error) {
          expect(error).toBeInstanceOf(ProblemException);
          expect((error as ProblemException).options.errors).toEqual(expected);
        }
      }),
      { numRuns: 500 },
    );
  });
});
