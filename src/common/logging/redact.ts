import { ERROR_CODES } from '../problem/error-codes.js';

/**
 * Redaction that follows a secret wherever it appears in a log object: any key whose name says
 * password, key, token, secret, authorization, authentication, cookie, code (OIDC codes) or
 * private is censored at any depth, and the same names are masked in query strings of URLs.
 * One exception (ourCode): a `code` that is one of our own problem codes is not a secret.
 */
export const SENSITIVE_KEY =
  /pass(word)?|secret|token|key|authori[sz]ation|authentication|cookie|private|^code$|code_verifier|verifier|nonce|^state$|session/i;
export const CENSOR = '[redacted]';

const PROBLEM_CODES: ReadonlySet<string> = new Set(Object.keys(ERROR_CODES));
const FIELD_ERROR_CODE = /^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$/;

/**
 * Whether `code` in `container` is one of ours rather than a secret that happens to be called code
 * (the OIDC authorization code, the native exchange code): a problem `code` from the catalogue
 * (ERROR_CODES), or the `code` of a field error (`{field, code, message}`, snake_case), as our
 * problem answers carry them. A secret named code in a query string or a request body is neither:
 * it is censored. A catalogue word is no secret even where a client sends it.
 */
function ourCode(name: string, item: unknown, container: Record<string, unknown>): boolean {
  if (name !== 'code' || typeof item !== 'string') return false;
  if (PROBLEM_CODES.has(item)) return true;
  return typeof container.field === 'string' && typeof container.message === 'string' && item.length <= 64 && FIELD_ERROR_CODE.test(item);
}

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) return value;
  const out: Record<string, unknown> = {};
  const container = value as Record<string, unknown>;
  for (const [name, item] of Object.entries(container)) {
    if (ourCode(name, item, container)) out[name] = item;
    else if (SENSITIVE_KEY.test(name) && item !== undefined && item !== null && typeof item !== 'object') out[name] = CENSOR;
    else if (SENSITIVE_KEY.test(name) && typeof item === 'object' && item !== null) out[name] = CENSOR;
    else if (name === 'url' && typeof item === 'string') out[name] = redactUrl(item);
    else out[name] = redact(item, depth + 1);
  }
  return out;
}

/** Masks the values of sensitive query parameters: /cb?code=abc&state=x → /cb?code=[redacted]&state=[redacted]. */
export function redactUrl(url: string): string {
  const q = url.indexOf('?');
  if (q < 0) return url;
  const query = url
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name);
      } catch {
        // keep the raw name
      }
      return eq >= 0 && SENSITIVE_KEY.test(decoded) ? `${name}=${CENSOR}` : pair;
    })
    .join('&');
  return `${url.slice(0, q)}?${query}`;
}
