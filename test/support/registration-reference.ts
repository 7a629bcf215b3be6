import fc from 'fast-check';

/**
 * An independent statement of Mydex's registration and Private Key rules and of the BFF's own email
 * rule, written without the production code's regular expressions or class-validator: property
 * tests compare the two.
 */

export interface ExpectedViolation {
  field: string;
  code: string;
}

// ECMAScript WhiteSpace and LineTerminator code points: what String.prototype.trim removes.
const WHITESPACE = new Set([
  0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20, 0xa0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008, 0x2009, 0x200a,
  0x2028, 0x2029, 0x202f, 0x205f, 0x3000, 0xfeff,
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

function field(body: Record<string, unknown>, name: string): string | undefined {
  if (!Object.prototype.hasOwnProperty.call(body, name)) return undefined;
  const value = body[name];
  if (typeof value !== 'string') return undefined;
  const trimmed = referenceTrim(value);
  return trimmed === '' ? undefined : trimmed;
}

/** C0 controls, DEL and C1 controls (Unicode general category Cc). */
const isControl = (point: number) => point <= 0x1f || (point >= 0x7f && point <= 0x9f);
/** A code point from Array.from that is half of a surrogate pair on its own. */
const isLoneSurrogate = (point: number) => point >= 0xd800 && point <= 0xdfff;

/**
 * The BFF's email rule, stated as the issue words it: refuse only what cannot be an address. No
 * `@`; an empty local part or domain (split at the last `@`); white space outside a closed quoted
 * string in the local part, or anywhere in the domain; a control character or lone surrogate
 * anywhere; more than 254 code points. Everything else (internationalised, quoted) is accepted.
 */
export function referenceEmailAddress(email: string): boolean {
  const points = Array.from(email);
  if (points.length === 0 || points.length > 254) return false;
  if (points.some((c) => isControl(c.codePointAt(0)!) || isLoneSurrogate(c.codePointAt(0)!))) return false;
  const at = points.lastIndexOf('@');
  if (at <= 0 || at === points.length - 1) return false;
  const local = points.slice(0, at);
  const domain = points.slice(at + 1);
  if (domain.some((c) => WHITESPACE.has(c.codePointAt(0)!))) return false;
  let quoted = false;
  for (let i = 0; i < local.length; i++) {
    const c = local[i]!;
    if (!quoted) {
      if (c === '"') quoted = true;
      else if (WHITESPACE.has(c.codePointAt(0)!)) return false;
    } else if (c === '\\') {
      // A quoted pair: the next character, whatever it is, belongs to the quoted string.
      if (i + 1 >= local.length) return false;
      i++;
    } else if (c === '"') {
      quoted = false;
    }
  }
  // A quoted string left open is not one: its white space is outside quotes, and it cannot end well.
  return !quoted;
}

/** The two letter cases of a MydexID are the same MydexID: compare lower-cased. */
const sameIgnoringCase = (a: string, b: string | undefined) => b !== undefined && a.toLowerCase() === b.toLowerCase();

/** Addresses both endpoints (own form and OIDC authorize) must accept, and hand on trimmed. */
export const EMAILS_ACCEPTED: readonly [label: string, email: string][] = [
  ['a plain address', 'alice@example.org'],
  ['sub-addressing and sub-domains', 'Alice.Smith+tag@mail.example.co.uk'],
  ['an apostrophe', "o'brien@example.ie"],
  ['the shortest form', 'x@a.b'],
  ['an internationalised address', 'ünï@bücher.de'],
  ['a Cyrillic address', 'айди@пример.рф'],
  ['a Chinese address', '用户@例子.广告'],
  ['a quoted local part with a space', '"john doe"@example.org'],
  ['a quoted local part holding an @', '"a@b"@example.org'],
  ['a quoted local part with an escaped quote', '"say \\"hi\\""@example.org'],
  ['an emoji', '😀@example.org'],
  ['a single-label domain', 'root@localhost'],
  ['an IP-literal domain', 'postmaster@[192.0.2.1]'],
  ['consecutive dots (Mydex judges)', 'a..b@example.org'],
  ['white space around it (trimmed)', '  alice@example.org\n'],
  ['exactly 254 characters', `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
  ['254 characters, all non-ASCII', `${'ü'.repeat(100)}@${'b'.repeat(150)}.de`],
];

/** Addresses that cannot be addresses: `email_invalid` on both endpoints. */
export const EMAILS_REFUSED: readonly [label: string, email: string][] = [
  ['no @', 'plain'],
  ['no @ outside the quotes', '"alice@example.org"'],
  ['an empty local part', '@example.org'],
  ['an empty domain', 'alice@'],
  ['nothing but @', '@'],
  ['an empty domain after the last @', 'alice@example.org@'],
  ['a space outside quotes', 'alice smith@example.org'],
  ['a no-break space outside quotes', 'alice\u00a0smith@example.org'],
  ['a space in the domain', 'alice@exa mple.org'],
  ['a quote left open', '"john doe@example.org'],
  ['a tab, even quoted', '"tab\there"@example.org'],
  ['a line feed', 'ali\nce@example.org'],
  ['a NUL', 'ali\u0000ce@example.org'],
  ['DEL', 'alice\u007f@example.org'],
  ['a C1 control', 'ali\u0085ce@example.org'],
  ['a lone high surrogate', 'ali\ud800ce@example.org'],
  ['a lone low surrogate in the domain', 'alice@exa\udc00mple.org'],
  ['255 characters', `a${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`],
  ['a run of quotes, the last left open', `${'"'.repeat(101)}a b@example.org`],
];

/** The violations Mydex's registration rules produce (uniqueness excepted), in rule order. */
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
  else if (!referenceEmailAddress(email)) out.push({ field: 'email', code: 'email_invalid' });
  if (password === undefined) {
    out.push({ field: 'password', code: 'required' });
  } else {
    if (sameIgnoringCase(password, mydexid)) out.push({ field: 'password', code: 'password_same_as_mydexid' });
    if (Array.from(password).length < 8) out.push({ field: 'password', code: 'password_too_short' });
  }
  return out;
}

/** The violations of the Private Key form's rules and the terms, in rule order. */
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

export const mydexidLike = padded(
  fc.oneof(textOf(idChar), digits, fc.constantFrom('', 'alice', 'Alice2024', 'café', 'Дмитрий', '１２３', '123')),
);

const label = fc.oneof(
  fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,8}[a-z0-9])?$/),
  fc.constantFrom(
    '-a',
    'a-',
    'xn--p1ai',
    '1com',
    'com',
    'bücher',
    'рф',
    'é',
    '',
    '[192.0.2.1]',
    'a b',
    'a\u00a0b',
    '"',
    'a'.repeat(63),
    'a'.repeat(64),
  ),
);
// Pieces of a local part: plain text, quotes, escapes, white space, controls, a lone surrogate, `@`.
const localPiece = fc.oneof(
  { weight: 6, arbitrary: fc.stringMatching(/^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~.-]{1,6}$/) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '"',
      '"',
      '\\',
      ' ',
      '\u00a0',
      '\u3000',
      '\t',
      '\n',
      '\u0000',
      '\u007f',
      '\u0085',
      '\ud800',
      '\udc00',
      '@',
      'ü',
      '用户',
      '😀',
      '.',
    ),
  },
);
const localPart = fc.oneof(
  fc.array(localPiece, { minLength: 1, maxLength: 6 }).map((pieces) => pieces.join('')),
  fc.array(localPiece, { maxLength: 4 }).map((pieces) => `"${pieces.join('')}"`),
  fc.constantFrom('', '.a', 'a.', 'a..b', 'a b', '"q"', '"john doe"', '"a@b"', '"a\\"b"', '"open', 'ü', 'a'.repeat(64), 'a'.repeat(65)),
);
export const emailLike = padded(
  fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .tuple(localPart, fc.array(label, { minLength: 1, maxLength: 3 }))
        .map(([local, labels]) => `${local}@${labels.join('.')}`),
    },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '',
        'plain',
        '@example.org',
        'a@',
        '@',
        'a@b',
        `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}`,
        `${'ü'.repeat(120)}@${'b'.repeat(130)}.de`,
        `${'"'.repeat(41)}a b@c`,
      ),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 1, max: 120 }), fc.constantFrom(253, 254, 255))
        .map(([n, total]) => `${'ü'.repeat(n)}@${'b'.repeat(total - n - 4)}.de`),
    },
    { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 30 }) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }) },
  ),
);

export const passwordLike = padded(fc.oneof(textOf(fc.oneof(asciiAlnum, oddChar)), fc.string({ unit: 'binary', maxLength: 12 })));

/** A field value: usually a plausible string, sometimes any JSON value (number, null, object...). */
const valueOf = (strings: fc.Arbitrary<string>) =>
  fc.oneof({ weight: 6, arbitrary: strings }, { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 1 }) });

/** A JSON object body for POST /v1/validation/registration, fields sometimes missing, extra fields sometimes present. */
export const registrationBody: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record(
      { mydexid: valueOf(mydexidLike), email: valueOf(emailLike), password: valueOf(passwordLike), extra: fc.jsonValue({ maxDepth: 1 }) },
      { requiredKeys: [] },
    ),
    fc.constantFrom('none', 'same', 'upper', 'lower'),
    padding,
  )
  .map(([body, copy, pad]) => {
    // Often the password is the MydexID with different padding, or in another letter case: rule 7
    // compares trimmed values, ignoring case.
    if (copy === 'none' || typeof body.mydexid !== 'string') return body;
    const id = copy === 'upper' ? body.mydexid.toUpperCase() : copy === 'lower' ? body.mydexid.toLowerCase() : body.mydexid;
    return { ...body, password: pad + id + pad };
  });

/** A Private Key form body. */
export const privateKeyBody: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record(
      {
        mydexid: valueOf(mydexidLike),
        password: valueOf(passwordLike),
        privateKey: valueOf(passwordLike),
        termsAccepted: fc.oneof(
          fc.constant(true),
          fc.constant(false),
          fc.constantFrom('true', 1, 'on', null),
          fc.jsonValue({ maxDepth: 0 }),
        ),
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
