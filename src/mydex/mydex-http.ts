/**
 * One HTTP exchange with Mydex through Node's global fetch: a timeout per call (AbortSignal.timeout
 * covers the connection, the headers and the body), the body read as text, and failures sorted into
 * the two kinds the client maps differently. No logging here: the caller knows what is safe to log.
 */

/** HTTP Basic client authentication (RFC 6749 2.3.1): id and secret are form-urlencoded before Base64. */
export function basicAuthorization(clientId: string, clientSecret: string): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `Basic ${Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')}`;
}

export type TransportFailureKind = 'timeout' | 'network';

export class MydexTransportError extends Error {
  constructor(
    readonly kind: TransportFailureKind,
    /** Method and path only: never a query string, header or body. */
    readonly target: string,
  ) {
    super(`${kind} on ${target}`);
    this.name = 'MydexTransportError';
  }
}

export interface MydexAnswer {
  status: number;
  headers: Headers;
  text: string;
}

export interface ExchangeOptions {
  timeoutMs: number;
  /**
   * Extra attempts after a network failure (refused, reset). Only for idempotent calls: a timeout is
   * never retried (the first attempt may still be running at Mydex), and nor is any POST that creates.
   */
  networkRetries?: number;
  /**
   * Follow up to 3 redirects within the URL's origin (discovery). A redirect to another origin (or
   * from https to http) is answered as it is: whoever answers there could serve a document naming
   * the right issuer with endpoints of its own. Every other call sees any 3xx as it is.
   */
  followRedirects?: boolean;
  /** Told how each call ended (`ok`, `http_4xx`, `http_5xx`, `timeout`, `network`) and how long it took. */
  observe?: UpstreamObserver;
}

export type UpstreamObserver = (endpoint: string, outcome: string, seconds: number) => void;

const RETRY_DELAY_MS = 100;

export async function exchange(url: string, init: RequestInit, options: ExchangeOptions): Promise<MydexAnswer> {
  const target = `${init.method ?? 'GET'} ${new URL(url).pathname}`;
  let attemptsLeft = 1 + (options.networkRetries ?? 0);
  const started = performance.now();
  const observe = (outcome: string) => options.observe?.(target, outcome, (performance.now() - started) / 1000);
  for (;;) {
    attemptsLeft -= 1;
    try {
      const response = await fetchWithinOrigin(
        url,
        init,
        AbortSignal.timeout(options.timeoutMs),
        options.followRedirects ? MAX_REDIRECTS : 0,
      );
      const text = await response.text();
      observe(response.status < 400 ? 'ok' : `http_${Math.floor(response.status / 100)}xx`);
      return { status: response.status, headers: response.headers, text };
    } catch (error) {
      const kind = failureKind(error);
      if (kind === 'network' && attemptsLeft > 0) {
        await new Promise((resolve) => setTimeout(resolve, RETRY_DELAY_MS));
        continue;
      }
      observe(kind);
      throw new MydexTransportError(kind, target);
    }
  }
}

const MAX_REDIRECTS = 3;

/** fetch without following redirects, except up to `redirects` hops to the same origin. */
async function fetchWithinOrigin(url: string, init: RequestInit, signal: AbortSignal, redirects: number): Promise<Response> {
  let current = new URL(url);
  for (let hop = 0; ; hop++) {
    const response = await fetch(current, { ...init, redirect: 'manual', signal });
    const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
    const next = location !== null && hop < redirects && URL.canParse(location, current.href) ? new URL(location, current) : undefined;
    if (next?.origin !== current.origin) return response;
    await response.body?.cancel();
    current = next;
  }
}

function failureKind(error: unknown): TransportFailureKind {
  const name = (error as { name?: unknown } | null)?.name;
  // AbortSignal.timeout aborts with a TimeoutError DOMException, during the request or the body read.
  if (name === 'TimeoutError' || name === 'AbortError') return 'timeout';
  return 'network';
}
