import { CookieJar } from './cookie-jar.js';

/** A page the scripted browser landed on, or the URL it stopped at without fetching it. */
export interface Landing {
  url: URL;
  /** 0 when `stopAt` matched and the URL was not fetched. */
  status: number;
  headers: Headers;
  body: string;
  /** Every URL visited on the way, the first one included. */
  chain: string[];
}

export interface FollowOptions {
  /** Stop (without fetching) at the first redirect target this accepts, e.g. a client's redirect URI. */
  stopAt?: (url: URL) => boolean;
  maxRedirects?: number;
}

export interface ParsedForm {
  action: URL;
  method: string;
  /** Successful controls: inputs with a name (checkboxes only when checked), in document order. */
  fields: Array<[string, string]>;
  /** Names of every input of the form (checked or not). */
  inputs: string[];
}

function attribute(tag: string, name: string): string | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*("([^"]*)"|'([^']*)'|([^\\s>]+))`, 'i').exec(tag);
  if (!match) return new RegExp(`\\s${name}(\\s|>|/)`, 'i').test(tag) ? '' : undefined;
  return decodeEntities(match[2] ?? match[3] ?? match[4] ?? '');
}

function decodeEntities(value: string): string {
  return value
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');
}

/** Finds the forms of a server-rendered page (plain HTML as the emulator and oidc-provider write it). */
function parseForms(html: string, pageUrl: string | URL): ParsedForm[] {
  const forms: ParsedForm[] = [];
  const formPattern = /<form\b([^>]*)>([\s\S]*?)<\/form>/gi;
  for (const match of html.matchAll(formPattern)) {
    const tag = `<form ${match[1]}>`;
    const fields: Array<[string, string]> = [];
    const inputs: string[] = [];
    for (const input of (match[2] ?? '').matchAll(/<input\b[^>]*>/gi)) {
      const name = attribute(input[0], 'name');
      if (name === undefined || name === '') continue;
      inputs.push(name);
      const type = (attribute(input[0], 'type') ?? 'text').toLowerCase();
      if ((type === 'checkbox' || type === 'radio') && attribute(input[0], 'checked') === undefined) continue;
      fields.push([name, attribute(input[0], 'value') ?? (type === 'checkbox' ? 'on' : '')]);
    }
    forms.push({
      action: new URL(attribute(tag, 'action') ?? '', pageUrl),
      method: (attribute(tag, 'method') ?? 'get').toUpperCase(),
      fields,
      inputs,
    });
  }
  return forms;
}

/** The value an input of the page currently holds (e.g. the pre-filled email), if it has one. */
export function inputValue(html: string, name: string): string | undefined {
  for (const input of html.matchAll(/<input\b[^>]*>/gi)) {
    if (attribute(input[0], 'name') === name) return attribute(input[0], 'value');
  }
  return undefined;
}

/**
 * A scripted browser for end-to-end tests: fetch with a cookie jar and manual redirects (so each hop
 * can be inspected), and form submission the way a browser submits a plain HTML form.
 */
export class ScriptedBrowser {
  readonly jar = new CookieJar();

  /** One request; cookies are sent and stored; redirects are not followed. */
  async request(url: string | URL, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    const cookie = this.jar.header(url);
    if (cookie) headers.set('cookie', cookie);
    if (!headers.has('accept')) headers.set('accept', 'text/html,application/json;q=0.9,*/*;q=0.8');
    const response = await fetch(url, { ...init, headers, redirect: 'manual' });
    this.jar.store(url, response);
    return response;
  }

  /** Requests `url` and follows redirects like a browser navigation. */
  async navigate(url: string | URL, init: RequestInit = {}, options: FollowOptions = {}): Promise<Landing> {
    let current = new URL(url);
    let request: RequestInit = init;
    const chain = [current.toString()];
    const max = options.maxRedirects ?? 20;
    for (let hop = 0; ; hop++) {
      const response = await this.request(current, request);
      const location = response.headers.get('location');
      if (response.status < 300 || response.status >= 400 || location === null) {
        return { url: current, status: response.status, headers: response.headers, body: await response.text(), chain };
      }
      await response.body?.cancel();
      if (hop >= max) throw new Error(`More than ${max} redirects from ${chain[0]}`);
      const next = new URL(location, current);
      chain.push(next.toString());
      if (options.stopAt?.(next)) return { url: next, status: 0, headers: new Headers(), body: '', chain };
      // 307 and 308 repeat the request; the others become a GET.
      request = response.status === 307 || response.status === 308 ? request : {};
      current = next;
    }
  }

  /**
   * Submits a form of `page` as a browser would: its own fields, overridden by `values` (a value of
   * undefined leaves a field out, e.g. an unticked checkbox). `formIndex` picks among several forms;
   * by default the first whose inputs include every key of `values`.
   */
  async submit(
    page: Landing,
    values: Record<string, string | undefined>,
    options: FollowOptions & { formIndex?: number } = {},
  ): Promise<Landing> {
    const forms = parseForms(page.body, page.url);
    const wanted = Object.keys(values);
    const form =
      options.formIndex !== undefined ? forms[options.formIndex] : forms.find((f) => wanted.every((name) => f.inputs.includes(name)));
    if (!form) throw new Error(`No form with inputs ${wanted.join(', ')} on ${page.url} (status ${page.status})`);
    const data = new Map<string, string | undefined>(form.fields);
    for (const [name, value] of Object.entries(values)) data.set(name, value);
    const body = new URLSearchParams();
    for (const [name, value] of data) if (value !== undefined) body.append(name, value);
    if (form.method === 'GET') {
      const target = new URL(form.action);
      target.search = body.toString();
      return this.navigate(target, {}, options);
    }
    return this.navigate(
      form.action,
      { method: form.method, headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString() },
      options,
    );
  }
}
