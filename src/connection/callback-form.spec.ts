import { describe, expect, it } from 'vitest';
import { MalformedForm, parseCallbackForm } from './callback-form.js';

const parse = (text: string | Buffer) => parseCallbackForm(Buffer.isBuffer(text) ? text : Buffer.from(text));

describe('parseCallbackForm', () => {
  it('parses PHP-style nested keys as qs does', () => {
    expect(parse('uid=587&fields[ds][0][][access][r][a]=1&fields[ds][0][][access][r][s]=A&mydexid=a+b%21')).toEqual({
      uid: '587',
      mydexid: 'a b!',
      fields: { ds: [[{ access: { r: { a: '1', s: 'A' } } }]] },
    });
  });

  it('turns a repeated key into a list rather than picking one', () => {
    expect(parse('uid=1&uid=2')).toEqual({ uid: ['1', '2'] });
  });

  it('decodes UTF-8 percent-escapes and raw UTF-8', () => {
    expect(parse('name=%C3%A9t%C3%A9&raw=été')).toEqual({ name: 'été', raw: 'été' });
  });

  it.each([
    ['raw bytes that are not UTF-8', Buffer.from([0x61, 0x3d, 0xc3, 0x28]), /not valid UTF-8/],
    ['an escape that is not UTF-8', 'a=%FF', /percent-escape/],
    ['a truncated escape', 'a=%E2%82', /percent-escape/],
    ['an escaped lone surrogate', 'a=%ED%A0%80', /percent-escape/],
    ['nesting deeper than 10 levels', `a${'[b]'.repeat(11)}=1`, /nesting deeper/],
    ['more than 5000 parameters', Array.from({ length: 5001 }, (_, i) => `p${i}=1`).join('&'), /parameters/],
    ['a list longer than 200 items', 'a[201]=1', /list longer/],
  ])('refuses %s', (_name, body, reason) => {
    const result = parse(body);
    expect(result).toBeInstanceOf(MalformedForm);
    expect((result as MalformedForm).reason).toMatch(reason);
  });

  it('drops keys that would reach Object.prototype', () => {
    const result = parse('__proto__[x]=1&a[constructor][prototype][y]=1&ok=1') as Record<string, unknown>;
    expect(result).toEqual({ ok: '1' });
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
