import type { Context } from 'koa';

/**
 * Server-rendered, plain, accessible HTML for the emulator's pages: every input has a label, errors
 * sit beside their field (linked with aria-describedby) and are summarised at the top in an alert.
 */

export function escapeHtml(value: unknown): string {
  return String(value ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export interface FieldError {
  field: string;
  message: string;
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#1b1b1b}
label{display:block;font-weight:600;margin-top:1rem}input[type=text],input[type=email],input[type=password]{width:100%;padding:.5rem;font-size:1rem;box-sizing:border-box}
.checkbox label{display:inline;font-weight:400}.error{color:#b00020;margin:.25rem 0 0}[aria-invalid=true]{border:2px solid #b00020}
button{margin-top:1.5rem;padding:.6rem 1.2rem;font-size:1rem}.summary{border:2px solid #b00020;padding:.5rem 1rem}.note{color:#555;font-size:.9rem}
table{border-collapse:collapse}th,td{border:1px solid #999;padding:.3rem .6rem;text-align:left}`;

export function page(title: string, body: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} · Mydex (local emulator)</title>
<style>${STYLE}</style>
</head>
<body>
<header><p class="note">Local Mydex emulator: no real Mydex account is involved.</p></header>
<main>
<h1>${escapeHtml(title)}</h1>
${body}
</main>
</body>
</html>`;
}

/** The list of all errors at the top of a form; each links to its field. */
export function errorSummary(errors: FieldError[], fieldIds: Record<string, string> = {}): string {
  if (errors.length === 0) return '';
  const items = errors
    .map((e) => {
      const id = fieldIds[e.field] ?? e.field;
      return `<li><a href="#${escapeHtml(id)}">${escapeHtml(e.message)}</a></li>`;
    })
    .join('');
  return `<div class="summary" role="alert" aria-labelledby="error-summary-title"><h2 id="error-summary-title">There is a problem</h2><ul>${items}</ul></div>`;
}

export interface InputOptions {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password';
  value?: string;
  autocomplete?: string;
  hint?: string;
  errors?: FieldError[];
}

/** A labelled input with its hint and its own errors beside it. */
export function input(options: InputOptions): string {
  const { name, label, type = 'text', value, autocomplete, hint } = options;
  const errors = (options.errors ?? []).filter((e) => e.field === name);
  const described: string[] = [];
  if (hint) described.push(`${name}-hint`);
  if (errors.length > 0) described.push(`${name}-error`);
  return `<div class="field">
<label for="${escapeHtml(name)}">${escapeHtml(label)}</label>
${hint ? `<p class="note" id="${escapeHtml(name)}-hint">${escapeHtml(hint)}</p>` : ''}
<input id="${escapeHtml(name)}" name="${escapeHtml(name)}" type="${type}"${
    value !== undefined && type !== 'password' ? ` value="${escapeHtml(value)}"` : ''
  }${autocomplete ? ` autocomplete="${escapeHtml(autocomplete)}"` : ''}${described.length ? ` aria-describedby="${described.join(' ')}"` : ''}${
    errors.length ? ' aria-invalid="true"' : ''
  } required>
${fieldErrors(name, errors)}
</div>`;
}

export function checkbox(options: { name: string; label: string; checked: boolean; errors?: FieldError[] }): string {
  const { name, label, checked } = options;
  const errors = (options.errors ?? []).filter((e) => e.field === name);
  return `<div class="field checkbox">
<input id="${escapeHtml(name)}" name="${escapeHtml(name)}" type="checkbox" value="yes"${checked ? ' checked' : ''}${
    errors.length ? ` aria-describedby="${escapeHtml(name)}-error" aria-invalid="true"` : ''
  }>
<label for="${escapeHtml(name)}">${escapeHtml(label)}</label>
${fieldErrors(name, errors)}
</div>`;
}

function fieldErrors(name: string, errors: FieldError[]): string {
  if (errors.length === 0) return '';
  return `<div id="${escapeHtml(name)}-error">${errors.map((e) => `<p class="error">Error: ${escapeHtml(e.message)}</p>`).join('')}</div>`;
}

export function form(action: string, content: string, submitLabel: string): string {
  return `<form method="post" action="${escapeHtml(action)}" novalidate>
${content}
<button type="submit">${escapeHtml(submitLabel)}</button>
</form>`;
}

export function sendHtml(ctx: Context, status: number, body: string): void {
  ctx.status = status;
  ctx.type = 'html';
  ctx.set('Cache-Control', 'no-store');
  ctx.body = body;
}

export function sendExpired(ctx: Context): void {
  sendHtml(
    ctx,
    404,
    page('Link expired', '<p role="alert">This link has expired or has already been used. Go back to the app and start again.</p>'),
  );
}
