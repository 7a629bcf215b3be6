/**
 * Pure readers for what Mydex answers. Mydex's status codes and error shapes are only partly
 * documented (mydex-integration.md, section 5), so every reader accepts all the shapes seen so far.
 */

/** Parses a JSON body; undefined when the text is not JSON. */
export function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * The human message in one of Mydex's three error shapes: `{error:{message}}` (historic routes),
 * `{success:0, message}` (newer routes), or a plain JSON string. [I] A `message` may also be a list.
 */
export function mydexMessage(body: unknown): string | undefined {
  if (typeof body === 'string') return body.trim() || undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  const error = record.error;
  if (typeof error === 'object' && error !== null) {
    const inner = textOf((error as Record<string, unknown>).message);
    if (inner) return inner;
  }
  if (typeof error === 'string' && error.trim()) return textOf(record.message) ?? error.trim();
  return textOf(record.message);
}

function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() || undefined;
  if (Array.isArray(value)) {
    const parts = value.filter((item): item is string => typeof item === 'string' && item.trim() !== '').map((item) => item.trim());
    return parts.length > 0 ? parts.join(' ') : undefined;
  }
  return undefined;
}

/** True when a 2xx body still says "refused": `{success:0}` or an `error` member. [I] */
export function isRefusal(body: unknown): boolean {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const record = body as Record<string, unknown>;
  return record.success === 0 || record.success === false || record.success === '0' || record.error !== undefined;
}

export interface TakenFields {
  mydexid: boolean;
  email: boolean;
}

/**
 * Recognises Mydex's uniqueness messages ("Mydexid already in use.", "Email already in use." [S]), in any
 * letter case; the variants ("taken", "exists") and the letter case are [I].
 */
export function takenFields(message: string | undefined): TakenFields {
  const text = (message ?? '').toLowerCase();
  return {
    mydexid: /mydex\s*id[^.]*already\s+(in\s+use|taken|exists)/.test(text),
    email: /e-?mail[^.]*already\s+(in\s+use|taken|exists)/.test(text),
  };
}

/** The one-time URL of a success answer: a JSON string, or `{url}`. [I] Only http(s) URLs are accepted. */
export function urlFromAnswer(body: unknown): string | undefined {
  const candidate =
    typeof body === 'string'
      ? body
      : typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>).url
        : undefined;
  if (typeof candidate !== 'string') return undefined;
  try {
    const url = new URL(candidate.trim());
    return url.protocol === 'https:' || url.protocol === 'http:' ? url.toString() : undefined;
  } catch {
    return undefined;
  }
}

/** The short access token: a JSON string, or `{token}`. [I] */
export function shortTokenFromAnswer(body: unknown): string | undefined {
  const candidate =
    typeof body === 'string'
      ? body
      : typeof body === 'object' && body !== null && !Array.isArray(body)
        ? (body as Record<string, unknown>).token
        : undefined;
  return typeof candidate === 'string' && /^[\x21-\x7e]{1,4096}$/.test(candidate) ? candidate : undefined;
}

/** Seconds from a Retry-After header (delta-seconds only), clamped to 1..300; undefined when absent or a date. */
export function retryAfterSeconds(header: string | null): number | undefined {
  if (header === null || !/^\s*\d+\s*$/.test(header)) return undefined;
  return Math.min(300, Math.max(1, Number(header)));
}

/**
 * Mydex's message, safe to show the member: the submitted secrets cut out (in case Mydex ever echoes
 * one), control characters removed, at most 300 characters.
 */
export function safeMessage(message: string, secrets: string[]): string {
  let out = message;
  for (const secret of secrets) {
    if (secret.length > 0) out = out.split(secret).join('[redacted]');
  }
  // eslint-disable-next-line no-control-regex -- removing control characters is the point
  out = out.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return out.length > 300 ? `${out.slice(0, 297)}...` : out;
}
