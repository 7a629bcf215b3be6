import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { appConfig } from '../../config/app.config.js';
import { ProblemException } from '../problem/problem.exception.js';

/** Longest returnTo / appRedirectUri accepted; longer values are refused, never truncated. */
export const MAX_REDIRECT_LENGTH = 2048;

/**
 * Checks a web `returnTo` against the exact-origin allowlist. Returns the normalised absolute URL to
 * redirect to, or undefined when it is not allowed.
 *
 * Accepted: an absolute http(s) URL whose origin is exactly one of `origins`, without userinfo; or a
 * path starting with a single `/`, resolved against `origins[0]`. Everything else is refused,
 * including protocol-relative (`//host`), backslash (`/\host`), control characters, whitespace,
 * any scheme other than http(s), and any address whose path starts with `//` once decoded and
 * normalised (`/..//host`, `https://app//host`, `/%2F%2Fhost`: see pathLeavesOrigin). The check
 * runs on the parsed URL, so percent-encoding and case variants cannot change the origin that is
 * checked from the one the browser will visit.
 */
export function allowedWebReturnTo(value: string, origins: readonly string[]): string | undefined {
  if (origins.length === 0 || value.length === 0 || value.length > MAX_REDIRECT_LENGTH) return undefined;
  // Browsers treat `\` as `/` and strip tabs/newlines inside URLs: refuse them rather than guess.
  if (/[\\\s]/.test(value) || hasControlCharacter(value)) return undefined;
  let url: URL;
  try {
    if (value.startsWith('/')) {
      if (value.startsWith('//')) return undefined;
      url = new URL(value, origins[0]);
    } else {
      url = new URL(value);
    }
  } catch {
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
  if (url.username !== '' || url.password !== '') return undefined;
  if (!origins.includes(url.origin)) return undefined;
  if (pathLeavesOrigin(url.pathname)) return undefined;
  return url.href;
}

/** More rounds of percent-decoding than this (`%25252F…`) are refused rather than followed. */
const MAX_DECODING_ROUNDS = 4;

/**
 * Whether a path, once percent-decoded (any number of times), with `\` read as `/` and tabs and
 * newlines dropped (as browsers do), and its dot segments resolved, starts with `//`. Such a path is
 * on our origin as we redirect to it, but the frontend, a proxy or a framework router that decodes
 * and normalises it before using it as a relative address would send the browser to another host:
 * `/..//evil.example/x`, `http://localhost:3000//evil.example/`, `/%2F%2Fevil.example`,
 * `/%5Cevil.example`, `/.%2F/evil.example`. Only ASCII escapes are decoded (the characters that
 * matter here are all ASCII), so a malformed or non-ASCII escape never throws.
 */
export function pathLeavesOrigin(pathname: string): boolean {
  let decoded = pathname;
  for (let round = 0; ; round += 1) {
    const next = decoded.replace(/%([0-7][0-9a-f])/gi, (_match, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
    if (next === decoded) break;
    if (round === MAX_DECODING_ROUNDS) return true;
    decoded = next;
  }
  const flattened = decoded.replace(/[\t\n\r]/g, '').replace(/\\/g, '/');
  if (flattened.startsWith('//')) return true;
  // Resolve dot segments the decoding revealed (`/.%2F/x` → `/.//x` → `//x`) as a URL parser does;
  // a decoded `?` or `#` stays part of the path.
  const asPath = (flattened.startsWith('/') ? flattened : `/${flattened}`).replace(/[?#]/g, encodeURIComponent);
  try {
    return new URL(`http://origin.invalid${asPath}`).pathname.startsWith('//');
  } catch {
    return true;
  }
}

function hasControlCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/** A native app redirect URI is allowed only when it equals one configured URI exactly. */
export function allowedAppRedirectUri(value: string, uris: readonly string[]): string | undefined {
  if (value.length === 0 || value.length > MAX_REDIRECT_LENGTH) return undefined;
  return uris.includes(value) ? value : undefined;
}

/** Appends query parameters to an (already allowed) redirect target, keeping its own query and fragment. */
export function withQuery(target: string, params: Record<string, string>): string {
  const url = new URL(target);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  return url.href;
}

/**
 * The returnTo / appRedirectUri allowlist (FRONTEND_ORIGINS, NATIVE_REDIRECT_URIS): the only way any
 * feature turns caller input into a redirect target, so there are no open redirects.
 */
@Injectable()
export class ReturnToPolicy {
  constructor(@Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>) {}

  /** Where a web flow lands when the caller gave no returnTo: the first frontend origin. */
  get defaultWebTarget(): string {
    return `${this.app.frontendOrigins[0] ?? this.app.publicBaseUrl}/`;
  }

  /**
   * A target given earlier (stored with a registration or a transaction, or carried in a query) checked
   * again against the allowlists as configured now: the first of `kinds` that allows it (`web`:
   * FRONTEND_ORIGINS, normalised; `app`: exactly one of NATIVE_REDIRECT_URIS), else the default web
   * target. Never throws: for landings, where refusing is no longer possible.
   */
  targetOrDefault(value: string | null | undefined, kinds: readonly ('web' | 'app')[] = ['web']): string {
    if (value) {
      for (const kind of kinds) {
        const allowed =
          kind === 'web' ? allowedWebReturnTo(value, this.app.frontendOrigins) : allowedAppRedirectUri(value, this.app.nativeRedirectUris);
        if (allowed !== undefined) return allowed;
      }
    }
    return this.defaultWebTarget;
  }

  /** The checked web target, the default when absent; throws 400 `return_to_not_allowed` otherwise. */
  /**
   * A landing target sent now by a client: for a native client one of NATIVE_REDIRECT_URIS exactly, and
   * otherwise (or for a web client) a web returnTo; refused (400) when neither. The stored value is
   * re-checked later with targetOrDefault(value, client === 'native' ? ['app', 'web'] : ['web']).
   */
  clientTarget(value: string | undefined, client: 'web' | 'native', field = 'returnTo'): string {
    const app = client === 'native' && value !== undefined ? allowedAppRedirectUri(value, this.app.nativeRedirectUris) : undefined;
    return app ?? this.webReturnTo(value, field);
  }

  webReturnTo(value: string | undefined, field = 'returnTo'): string {
    if (value === undefined) return this.defaultWebTarget;
    const allowed = allowedWebReturnTo(value, this.app.frontendOrigins);
    if (allowed === undefined) {
      throw refused(field, `${field} must be on one of the configured frontend origins (FRONTEND_ORIGINS).`);
    }
    return allowed;
  }

  /** The checked native redirect URI; throws 400 `return_to_not_allowed` unless it is configured exactly. */
  appRedirectUri(value: string | undefined, field = 'appRedirectUri'): string {
    const allowed = value === undefined ? undefined : allowedAppRedirectUri(value, this.app.nativeRedirectUris);
    if (allowed === undefined) {
      throw refused(field, `${field} must be exactly one of the configured app redirect URIs (NATIVE_REDIRECT_URIS).`);
    }
    return allowed;
  }
}

function refused(field: string, message: string): ProblemException {
  return new ProblemException('return_to_not_allowed', message, { errors: [{ field, code: 'return_to_not_allowed', message }] });
}
