/**
 * Redaction that follows a secret wherever it appears in a log object: any key whose name says
 * password, key, token, secret, authorization, authentication, cookie, code (OIDC codes) or
 * private is censored at any depth, and the same names are masked in query strings of URLs.
 */
export const SENSITIVE_KEY = /pass(word)?|secret|token|key|authori[sz]ation|authentication|cookie|private|^code$|code_verifier|verifier|nonce|^state$|session/i;
export const CENSOR = '[redacted]';

export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) return value;
  const out: Record<string, unknown> = {};
  for (const [name, item] of Object.entries(value as Record<string, unknown>)) {
    if (SENSITIVE_KEY.test(name) && item !== undefined && item !== null && typeof item !== 'object') out[name] = CENSOR;
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
