import { ERROR_CODES, type ErrorCode, isErrorCode } from '../common/problem/error-codes.js';
import { problemType } from '../common/problem/problem-details.js';

/**
 * What GET /errors and GET /errors/{code} answer, generated from the one error-code catalogue
 * (src/common/problem/error-codes.ts): a short HTML page by default, JSON when the client prefers
 * application/json. Plain functions, so the OpenAPI examples are rendered by the same code.
 */

export interface ErrorCodeDescription {
  /** The problem `type` URL of this code (what a problem+json answer carries). */
  type: string;
  code: ErrorCode;
  status: number;
  title: string;
  when: string;
  action: string;
}

/** Every code, alphabetically. */
export const ALL_CODES: readonly ErrorCode[] = (Object.keys(ERROR_CODES) as ErrorCode[]).sort();

export function describeCode(code: ErrorCode, type: string = problemType(code)): ErrorCodeDescription {
  const { status, title, when, action } = ERROR_CODES[code];
  return { type, code, status, title, when, action };
}

/** The catalogue entry for a path segment, or undefined (exact, case-sensitive: codes are snake_case). */
export function findCode(segment: string): ErrorCode | undefined {
  return isErrorCode(segment) ? segment : undefined;
}

/**
 * Whether the client asked for JSON rather than HTML: the best quality of `application/json` (or
 * `application/*`) beats that of `text/html` (or `text/*`). `*` alone, no header, or a tie: HTML.
 */
export function prefersJson(accept: string | undefined): boolean {
  if (!accept) return false;
  let json = 0;
  let html = 0;
  for (const part of accept.split(',')) {
    const [range = '', ...parameters] = part.split(';').map((piece) => piece.trim().toLowerCase());
    const qParameter = parameters.find((parameter) => parameter.startsWith('q='));
    const parsed = qParameter === undefined ? 1 : Number(qParameter.slice(2));
    const q = Number.isFinite(parsed) ? Math.min(Math.max(parsed, 0), 1) : 0;
    if (range === 'application/json' || range === 'application/*') json = Math.max(json, q);
    if (range === 'text/html' || range === 'text/*') html = Math.max(html, q);
    if (range === '*/*') html = Math.max(html, q);
  }
  return json > html;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] ?? character);
}

/** Escaped text with the catalogue's `code` spans as <code>. */
function prose(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function page(title: string, body: string): string {
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(title)}</title>`,
    '<style>body{font-family:system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;line-height:1.5}dt{font-weight:600}code{background:#f3f3f3;padding:0 .2em}td,th{text-align:left;vertical-align:top;padding:.25rem .5rem}</style>',
    '</head>',
    '<body>',
    body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

/** Where the pages are: `{PUBLIC_BASE_URL}/errors` (absolute, so a path prefix in PUBLIC_BASE_URL works). */
export function errorPageLinks(publicBaseUrl: string): { list: string; page: (code: string) => string } {
  const list = `${publicBaseUrl.replace(/\/+$/, '')}/errors`;
  return { list, page: (code) => `${list}/${encodeURIComponent(code)}` };
}

/** The page about one code: its title, status, when it happens and what to do. */
export function renderCodePage(entry: ErrorCodeDescription, listUrl: string): string {
  return page(
    `${entry.code}: ${entry.title}`,
    [
      `<p><a href="${escapeHtml(listUrl)}">All error codes</a></p>`,
      `<h1><code>${escapeHtml(entry.code)}</code></h1>`,
      `<p>${escapeHtml(entry.title)} (HTTP ${entry.status}).</p>`,
      '<dl>',
      `<dt>When it happens</dt><dd>${prose(entry.when)}</dd>`,
      `<dt>What to do</dt><dd>${prose(entry.action)}</dd>`,
      '</dl>',
      `<p>Problem <code>type</code>: <code>${escapeHtml(entry.type)}</code>. Every error is <code>application/problem+json</code> with this <code>code</code>; switch on the code, never on the text.</p>`,
    ].join('\n'),
  );
}

/** The list of every code, each linking to its page. */
export function renderCodeList(entries: readonly ErrorCodeDescription[], pageUrl: (code: string) => string): string {
  const rows = entries.map(
    (entry) =>
      `<tr><td><a href="${escapeHtml(pageUrl(entry.code))}"><code>${escapeHtml(entry.code)}</code></a></td><td>${entry.status}</td><td>${escapeHtml(entry.title)}</td></tr>`,
  );
  return page(
    'Error codes',
    [
      '<h1>Error codes</h1>',
      '<p>Every refusal is <code>application/problem+json</code> with one of these <code>code</code>s. The same list as JSON: <code>GET /errors</code> with <code>Accept: application/json</code>.</p>',
      '<table>',
      '<thead><tr><th>code</th><th>status</th><th>title</th></tr></thead>',
      '<tbody>',
      ...rows,
      '</tbody>',
      '</table>',
    ].join('\n'),
  );
}
