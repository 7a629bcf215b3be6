import fc from 'fast-check';

/**
 * An independent statement of Mydex's registration and Private Key rules, written without the
 * production code's regular expressions or class-validator: property tests compare the two.
 */

export interface ExpectedViolation {
  field: string;
  code: string;
}

// ECMAScript WhiteSpace and LineTerminator code points: what String.prototype.trim removes.
const WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007,
  0x2008, 0x2009, 0x200a, 0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
]);

function referenceTrim(value: string): string {
  const points = Array.from(value);
  let start = 0;
  let end = points.length;
  while (start < end && WHITESPACE.has(points[start]!.codePointAt(0)!)) start++;
  while (end > start && WHITESPACE.has(points[end - 1]!.codePointAt(0)!)) end--;
  return points.slice(start, end).join('');
}

const isDigit = (c: string) => c >= '0' && c <= '9';
const isAsciiLetter = (c: string) => (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
const ATEXT_SYMBOLS = "!#$%&'*+/=?^_`{|}~-";

function field(body: Record<string, unknown>, name: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(body, name)) return undefined;
  const value = body[name];
  if (typeof value !== 'string') return undefined;
  const trimmed = referenceTrim(value);
  return trimmed === '' ? undefined : trimmed;
}

function isWellFormedEmail(email: string): boolean {
  if (Array.from(email).length > 254) return false;
  const at = email.lastIndexOf('@');
  if (at <= 0) return false;
  const local = email.slice(0, at);
  const domain = email.slice(at + 1);
  if (local.length > 64) return false;
  const atoms = local.split('.');
  if (atoms.some((atom) => atom === '' || !Array.from(atom).every((c) => isAsciiLetter(c) || isDigit(c) || ATEXT_SYMBOLS.includes(c)))) return false;
  const labels = domain.split('.');
  if (labels.length < 2) return false;
  for (const label of labels) {
    if (label.length < 1 || label.length > 63) return false;
    if (!Array.from(label).every((c) => isAsciiLetter(c) || isDigit(c) || c === '-')) return false;
    if (label.startsWith('-') || label.endsWith('-')) return false;
  }
  return isAsciiLetter(labels[labels.length - 1]![0]!);
}

/** The violations Mydex's eight rules produce (uniqueness excepted), in rule order. */
export function expectedRegistrationViolations(body: Record<string, unknown>): ExpectedViolation[] {
  const out: ExpectedViolation[] = [];
  const mydexid = field(body, 'mydexid');
  const email = field(body, 'email');
  const password = field(body, 'password');
  if (mydexid === undefined) {
    out.push({ field: 'mydexid', code: 'required' });
  } else {
    const chars = Array.from(mydexid);
    if (!chars.every((c) => isAsciiLetter(c) || isDigit(c))) out.push({ field: 'mydexid', code: 'mydexid_not_alphanumeric' });
    if (chars.every(isDigit)) out.push({ field: 'mydexid', code: 'mydexid_digits_only' });
    if (chars.length < 3 || chars.length > 60) out.push({ field: 'mydexid', code: 'mydexid_length' });
  }
  if (email === undefined) out.push({ field: 'email', code: 'required' });
  else if (!isWellFormedEmail(email)) out.push({ field: 'email', code: 'email_invalid' });
  if (password === undefined) {
    out.push({ field: 'password', code: 'required' });
  } else {
    if (password === mydexid) out.push({ field: 'password', code: 'password_same_as_mydexid' });
    if (Array.from(password).length < 8) out.push({ field: 'password', code: 'password_too_short' });
  }
  return out;
}

/** The violations of the Private Key form's four rules and the terms, in rule order. */
export function expectedPrivateKeyViolations(body: Record<string, unknown>): ExpectedViolation[] {
  const out: ExpectedViolation[] = [];
  const key = field(body, 'privateKey');
  if (key === undefined) {
    out.push({ field: 'privateKey', code: 'required' });
  } else {
    if (key === field(body, 'mydexid')) out.push({ field: 'privateKey', code: 'private_key_same_as_mydexid' });
    if (key === field(body, 'password')) out.push({ field: 'privateKey', code: 'private_key_same_as_password' });
    const length = Array.from(key).length;
    if (length < 8 || length > 128) out.push({ field: 'privateKey', code: 'private_key_length' });
  }
  if (body.termsAccepted !== true) out.push({ field: 'termsAccepted', code: 'terms_not_accepted' });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Arbitraries that reach every boundary often: lengths near the limits, digits only, non-ASCII,
// white space around values, a password equal to the MydexID.

const whitespace = fc.constantFrom(' ', '\t', '\n', '\u00a0', '\u3000', '\ufeff', '\u2028');
const padding = fc.array(whitespace, { maxLength: 2 }).map((parts) => parts.join(''));
const oddChar = fc.constantFrom('é', 'Д', '１', '٣', '😀', '_', '-', '.', '@', ' ', 'ß', 'K', '\ud800');
const asciiAlnum = fc.constantFrom(...'abcXYZ0123456789');
const idChar = fc.oneof({ weight: 8, arbitrary: asciiAlnum }, { weight: 1, arbitrary: oddChar });
const boundaryLength = fc.oneof(fc.constantFrom(0, 1, 2, 3, 4, 7, 8, 9, 59, 60, 61, 127, 128, 129), fc.integer({ min: 0, max: 140 }));
const textOf = (char: fc.Arbitrary<string>) =>
  boundaryLength.chain((length) => fc.array(char, { minLength: length, maxLength: length })).map((chars) => chars.join(''));
const digits = textOf(fc.constantFrom(...'0123456789'));
const padded = (text: fc.Arbitrary<string>) => fc.tuple(padding, text, padding).map(([a, b, c]) => a + b + c);

export const mydexidLike = padded(fc.oneof(textOf(idChar), digits, fc.constantFrom('', 'alice', 'Alice2024', 'café', 'Дмитрий', '１２３', '123')));

const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/),
  fc.constantFrom('-a', 'a-', 'xn--p1ai', '1com', 'com', 'é', '', 'a'.repeat(63), 'a'.repeat(64)),
);
const localPart = fc.oneof(
  fc.stringMatching(/^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]{1,10}(\.[a-zA-Z0-9_-]{1,5})?$/),
  fc.constantFrom('', '.a', 'a.', 'a..b', 'a b', '"q"', 'ü', 'a'.repeat(64), 'a'.repeat(65)),
);
export const emailLike = padded(
  fc.oneof(
    { weight: 6, arbitrary: fc.tuple(localPart, fc.array(label, { minLength: 1, maxLength: 3 })).map(([local, labels]) => `${local}@${labels.join('.')}`) },
    { weight: 1, arbitrary: fc.constantFrom('', 'plain', '@example.org', 'a@b', `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`) },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
  ),
);

export const passwordLike = padded(fc.oneof(textOf(fc.oneof(asciiAlnum, oddChar)), fc.string({ unit: 'binary', maxLength: 12 })));

/** A field value: usually a plausible string, sometimes any JSON value (number, null, object...). */
const valueOf = (strings: fc.Arbitrary<string>) => fc.oneof({ weight: 6, arbitrary: strings }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });

/** A JSON object body for POST /v1/validation/registration, fields sometimes missing, extra fields sometimes present. */
export const registrationBody: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record(
      { mydexid: valueOf(mydexidLike), email: valueOf(emailLike), password: valueOf(passwordLike), extra: fc.jsonValue({ maxDepth: 1 }) },
      { requiredKeys: [] },
    ),
    fc.boolean(),
    padding,
  )
  .map(([body, sameAsMydexid, pad]) =>
    // Often the password is the MydexID with different padding: rule 7 compares trimmed values.
    sameAsMydexid && typeof body.mydexid === 'string' ? { ...body, password: pad + body.mydexid + pad } : body,
  );

/** A Private Key form body. */
export const privateKeyBody: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record(
      {
        mydexid: valueOf(mydexidLike),
        password: valueOf(passwordLike),
        privateKey: valueOf(passwordLike),
        termsAccepted: fc.oneof(fc.constant(true), fc.constant(false), fc.constantFrom('true', 1, 'on', null), fc.jsonValue({ maxDepth: 0 })),
      },
      { requiredKeys: [] },
    ),
    fc.constantFrom('none', 'mydexid', 'password'),
    padding,
  )
  .map(([body, copy, pad]) => {
    const source = copy === 'none' ? undefined : body[copy];
    return typeof source === 'string' ? { ...body, privateKey: pad + source } : body;
  });
