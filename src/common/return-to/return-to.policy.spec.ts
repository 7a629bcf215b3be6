import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allowedAppRedirectUri, allowedWebReturnTo, pathLeavesOrigin, ReturnToPolicy, withQuery } from './return-to.policy.js';
import { ProblemException } from '../problem/problem.exception.js';

const ORIGINS = ['http://localhost:3000', 'https://app.example'];
const APP_URIS = ['com.example.app:/oauth/callback', 'https://app.example/native/callback'];

describe('allowedWebReturnTo', () => {
  it.each([
    ['http://localhost:3000/', 'http://localhost:3000/'],
    ['https://app.example/welcome?step=2#top', 'https://app.example/welcome?step=2#top'],
    ['HTTPS://APP.EXAMPLE/Welcome', 'https://app.example/Welcome'],
    ['https://app.example:443/x', 'https://app.example/x'],
    ['/dashboard', 'http://localhost:3000/dashboard'],
    ['/a/b/../c', 'http://localhost:3000/a/c'],
    ['/a//b', 'http://localhost:3000/a//b'],
    ['/a/%2F%2Fb', 'http://localhost:3000/a/%2F%2Fb'],
    ['/caf%C3%A9?next=//elsewhere', 'http://localhost:3000/caf%C3%A9?next=//elsewhere'],
    ['/%E0%A4%A', 'http://localhost:3000/%E0%A4%A'],
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
    // Paths that start with `//` once decoded and normalised (a protocol-relative address to
    // whoever decodes and follows them next).
    '/..//evil.example/x',
    '/../..//evil.example',
    '/a/..//evil.example',
    '/%2e%2e//evil.example',
    '/.%2F/evil.example',
    '/a%2F..%2F%2Fevil.example',
    'http://localhost:3000//evil.example/',
    'https://app.example//evil.example/x',
    'https://app.example/..//evil.example',
    'https://app.example/%2F%2Fevil.example',
    '/%2F%2Fevil.example',
    '/%2f/evil.example',
    '/%252F%252Fevil.example',
    '/%25252F%25252Fevil.example',
    '/%5Cevil.example',
    '/%5C%5Cevil.example',
    'https://app.example/%5C/evil.example',
    '/%09/evil.example',
    '/%0A/evil.example',
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

describe('paths that leave the origin once decoded', () => {
  // Pieces a path is built from: separators in every spelling, dot segments, names.
  const PIECE = fc.constantFrom(
    '/',
    '\\',
    '%2F',
    '%2f',
    '%5C',
    '%5c',
    '%252F',
    '%255C',
    '.',
    '..',
    '%2E',
    '%2e%2e',
    '%09',
    'a',
    'evil.example',
    '%3F',
    '#',
    '?',
    '%',
  );
  const path = fc.array(PIECE, { minLength: 1, maxLength: 10 }).map((pieces) => `/${pieces.join('')}`);

  /**
   * The oracle, independent of the policy's code: decode the path as far as it goes and let the
   * WHATWG URL parser (what a browser does with a relative address) resolve it against a page. The
   * path is safe only when every decoding stays on the page's origin.
   */
  function staysOnOrigin(pathname: string): boolean {
    let current = pathname;
    for (let round = 0; round < 8; round += 1) {
      const page = 'https://frontend.example/app/page';
      const target = new URL(current.replace(/[\t\n\r]/g, ''), page);
      if (target.origin !== 'https://frontend.example') return false;
      let next: string;
      try {
        next = decodeURIComponent(current);
      } catch {
        next = current.replace(/%([0-7][0-9a-f])/gi, (_m, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
      }
      next = next.replace(/[?#]/g, encodeURIComponent);
      if (next === current) return true;
      current = next;
    }
    return false;
  }

  it('refuses every returnTo whose path, decoded at any depth, a browser would read as another host', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ORIGINS), path, fc.boolean(), (origin, value, absolute) => {
        const allowed = allowedWebReturnTo(absolute ? origin + value : value, ORIGINS);
        if (allowed === undefined) return;
        const { pathname } = new URL(allowed);
        expect(staysOnOrigin(pathname), `${value} was allowed as ${allowed}`).toBe(true);
      }),
      { numRuns: 3000 },
    );
  });

  it('still accepts the ordinary paths of a frontend', () => {
    fc.assert(
      fc.property(fc.array(fc.stringMatching(/^[A-Za-z0-9_-]{1,12}$/), { maxLength: 6 }), (segments) => {
        const value = `/${segments.join('/')}`;
        expect(allowedWebReturnTo(value, ORIGINS)).toBe(`http://localhost:3000${value}`);
        expect(pathLeavesOrigin(value)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });

  it('gives up on encodings nested deeper than any real address needs', () => {
    expect(pathLeavesOrigin(`/${'%25'.repeat(1)}252525252Fx`)).toBe(true);
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

describe('ReturnToPolicy.targetOrDefault (a stored target re-checked as configured now)', () => {
  const policy = new ReturnToPolicy({
    frontendOrigins: ['https://app.example.org', 'https://other.example.org'],
    nativeRedirectUris: ['com.example.app:/callback'],
    publicBaseUrl: 'https://bff.example.org',
  } as unknown as ConstructorParameters<typeof ReturnToPolicy>[0]);

  it('answers the allowed target, normalised, by the first kind that allows it', () => {
    expect(policy.targetOrDefault('https://other.example.org/welcome?x=1')).toBe('https://other.example.org/welcome?x=1');
    expect(policy.targetOrDefault('/done')).toBe('https://app.example.org/done');
    expect(policy.targetOrDefault('com.example.app:/callback', ['app'])).toBe('com.example.app:/callback');
    expect(policy.targetOrDefault('com.example.app:/callback', ['web', 'app'])).toBe('com.example.app:/callback');
  });

  it('falls back to the first frontend origin, never throws', () => {
    for (const value of [undefined, null, '', 'https://evil.example/', '//evil.example', '/..//evil.example']) {
      expect(policy.targetOrDefault(value, ['app', 'web'])).toBe('https://app.example.org/');
    }
    // An app URI is only accepted where the caller asks for it.
    expect(policy.targetOrDefault('com.example.app:/callback')).toBe('https://app.example.org/');
    expect(policy.targetOrDefault('https://app.example.org/x', ['app'])).toBe('https://app.example.org/');
  });
});

describe('ReturnToPolicy.clientTarget (a target a client sends now)', () => {
  const policy = new ReturnToPolicy({
    frontendOrigins: ['https://app.example.org'],
    nativeRedirectUris: ['com.example.app:/callback'],
    publicBaseUrl: 'https://bff.example.org',
  } as unknown as ConstructorParameters<typeof ReturnToPolicy>[0]);

  it('accepts an app redirect URI from a native client only, and a web returnTo from either', () => {
    expect(policy.clientTarget('com.example.app:/callback', 'native')).toBe('com.example.app:/callback');
    expect(policy.clientTarget('/done', 'native')).toBe('https://app.example.org/done');
    expect(policy.clientTarget(undefined, 'native')).toBe('https://app.example.org/');
    expect(() => policy.clientTarget('com.example.app:/callback', 'web')).toThrow(ProblemException);
  });

  it('refuses what neither allows, naming the field', () => {
    for (const client of ['web', 'native'] as const) {
      expect(() => policy.clientTarget('https://evil.example/', client, 'postLogoutRedirectUri')).toThrow(/postLogoutRedirectUri/);
    }
  });
});
