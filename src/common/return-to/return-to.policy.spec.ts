import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedAppRedirectUri, allowedWebReturnTo, withQuery } from './return-to.policy.js';

const ORIGINS = ['http://localhost:3000', 'https://app.example'];
const APP_URIS = ['com.example.app:/oauth/callback', 'https://app.example/native/callback'];

describe('allowedWebReturnTo', () => {
  it.each([
    ['http://localhost:3000/', 'http://localhost:3000/'],
    ['https://app.example/welcome?step=2#top', 'https://app.example/welcome?step=2#top'],
    ['HTTPS://APP.EXAMPLE/Welcome', 'https://app.example/Welcome'],
    ['https://app.example:443/x', 'https://app.example/x'],
    ['/dashboard', 'http://localhost:3000/dashboard'],
    ['/%2F%2Fevil.example', 'http://localhost:3000/%2F%2Fevil.example'],
  ])('accepts %s as %s', (value, expected) => {
    expect(allowedWebReturnTo(value, ORIGINS)).toBe(expected);
  });

  it.each([
    '//evil.example',
    '//evil.example/path',
    'https://evil.example',
    'https://evil.example/https://app.example',
    'HTTPS://EVIL.EXAMPLE',
    '/\\evil.example',
    '\\\\evil.example',
    '/\t/evil.example',
    ' https://app.example/',
    'javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'javascript%3Aalert(1)',
    'data:text/html,<script>alert(1)</script>',
    '%2F%2Fevil.example',
    'https:%2F%2Fevil.example',
    'https://localhost:3000@evil.example',
    'https://app.example@evil.example',
    'https://app.example%40evil.example',
    'https://user:pass@app.example/',
    'http://app.example/',
    'https://app.example:8443/',
    'https://app.example.evil.example/',
    'https://evilapp.example/',
    'ftp://app.example/',
    'app.example/path',
    '',
    `/${'a'.repeat(2100)}`,
  ])('refuses %s', (value) => {
    expect(allowedWebReturnTo(value, ORIGINS)).toBeUndefined();
  });

  it('only ever answers an address on an allowed origin, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.webUrl({ withQueryParameters: true, withFragments: true }),
          fc.string().map((s) => `/${s}`),
          // An allowed origin followed by anything: `@host`, `.evil`, `:port`, `\\`, ...
          fc.tuple(fc.constantFrom(...ORIGINS), fc.string()).map(([origin, rest]) => origin + rest),
        ),
        (value) => {
        const allowed = allowedWebReturnTo(value, ORIGINS);
        if (allowed === undefined) return;
        const url = new URL(allowed);
        expect(ORIGINS).toContain(url.origin);
        expect(url.username + url.password).toBe('');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('allowedAppRedirectUri', () => {
  it('accepts only an exactly configured URI', () => {
    expect(allowedAppRedirectUri('com.example.app:/oauth/callback', APP_URIS)).toBe('com.example.app:/oauth/callback');
    expect(allowedAppRedirectUri('com.example.app:/oauth/callback/', APP_URIS)).toBeUndefined();
    expect(allowedAppRedirectUri('COM.EXAMPLE.APP:/oauth/callback', APP_URIS)).toBeUndefined();
    expect(allowedAppRedirectUri('com.example.app:/oauth/callback?x=1', APP_URIS)).toBeUndefined();
    expect(allowedAppRedirectUri('com.evil.app:/oauth/callback', APP_URIS)).toBeUndefined();
  });
});

describe('withQuery', () => {
  it('adds parameters and keeps the target own query and fragment', () => {
    expect(withQuery('https://app.example/a?b=1#f', { error: 'state_reused' })).toBe('https://app.example/a?b=1&error=state_reused#f');
    expect(withQuery('com.example.app:/oauth/callback', { code: 'abc' })).toBe('com.example.app:/oauth/callback?code=abc');
  });
});
