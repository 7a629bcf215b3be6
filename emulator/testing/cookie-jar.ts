/**
 * A small cookie jar for scripted HTTP clients (no browser): keeps what Set-Cookie says and sends it
 * back the way a browser would — by host (ports are not part of a cookie's scope, as in browsers),
 * path prefix, expiry, and Secure only over https or to localhost.
 */

interface StoredCookie {
  name: string;
  value: string;
  /** Host name the cookie was set by, or the Domain attribute's value. */
  domain: string;
  hostOnly: boolean;
  path: string;
  secure: boolean;
  httpOnly: boolean;
  expiresAt?: number;
}

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

function defaultPath(url: URL): string {
  const path = url.pathname;
  if (!path.startsWith('/') || path.lastIndexOf('/') === 0) return '/';
  return path.slice(0, path.lastIndexOf('/'));
}

function pathMatches(requestPath: string, cookiePath: string): boolean {
  if (requestPath === cookiePath) return true;
  if (!requestPath.startsWith(cookiePath)) return false;
  return cookiePath.endsWith('/') || requestPath[cookiePath.length] === '/';
}

function domainMatches(host: string, cookie: StoredCookie): boolean {
  if (cookie.hostOnly) return host === cookie.domain;
  return host === cookie.domain || host.endsWith(`.${cookie.domain}`);
}

export class CookieJar {
  private cookies: StoredCookie[] = [];

  /** Records every Set-Cookie header of a response to a request for `url`. */
  store(url: string | URL, response: Response): void {
    const requestUrl = new URL(url);
    for (const header of response.headers.getSetCookie()) this.setCookie(requestUrl, header);
  }

  setCookie(requestUrl: URL, header: string): void {
    const [pair = '', ...attributes] = header.split(';');
    const eq = pair.indexOf('=');
    if (eq <= 0) return;
    const cookie: StoredCookie = {
      name: pair.slice(0, eq).trim(),
      value: pair.slice(eq + 1).trim(),
      domain: requestUrl.hostname,
      hostOnly: true,
      path: defaultPath(requestUrl),
      secure: false,
      httpOnly: false,
    };
    let maxAge: number | undefined;
    for (const attribute of attributes) {
      const [rawKey = '', ...rest] = attribute.split('=');
      const key = rawKey.trim().toLowerCase();
      const value = rest.join('=').trim();
      if (key === 'path' && value.startsWith('/')) cookie.path = value;
      else if (key === 'domain' && value !== '') {
        cookie.domain = value.replace(/^\./, '').toLowerCase();
        cookie.hostOnly = false;
      } else if (key === 'secure') cookie.secure = true;
      else if (key === 'httponly') cookie.httpOnly = true;
      else if (key === 'max-age' && /^-?[0-9]+$/.test(value)) maxAge = Number(value);
      else if (key === 'expires' && !Number.isNaN(Date.parse(value))) cookie.expiresAt = Date.parse(value);
    }
    if (maxAge !== undefined) cookie.expiresAt = Date.now() + maxAge * 1000;
    this.cookies = this.cookies.filter((c) => !(c.name === cookie.name && c.domain === cookie.domain && c.path === cookie.path));
    if (cookie.expiresAt === undefined || cookie.expiresAt > Date.now()) this.cookies.push(cookie);
  }

  /** The Cookie header for a request to `url`, or undefined when no cookie applies. */
  header(url: string | URL): string | undefined {
    const target = new URL(url);
    const now = Date.now();
    const secureOk = target.protocol === 'https:' || LOOPBACK.has(target.hostname);
    const matching = this.cookies
      .filter(
        (c) =>
          (c.expiresAt === undefined || c.expiresAt > now) &&
          domainMatches(target.hostname, c) &&
          pathMatches(target.pathname, c.path) &&
          (!c.secure || secureOk),
      )
      // Longer paths first, as browsers send them.
      .sort((a, b) => b.path.length - a.path.length);
    return matching.length === 0 ? undefined : matching.map((c) => `${c.name}=${c.value}`).join('; ');
  }

  /** The value of a cookie that would be sent to `url`. */
  get(name: string, url: string | URL): string | undefined {
    const target = new URL(url);
    return this.cookies.find((c) => c.name === name && domainMatches(target.hostname, c) && pathMatches(target.pathname, c.path))?.value;
  }

  names(): string[] {
    return this.cookies.map((c) => c.name);
  }

  clear(): void {
    this.cookies = [];
  }
}
