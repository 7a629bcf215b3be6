/** Reading the emulator's pages in tests: the errors shown beside a field, a field's state. */

function stripTags(html: string): string {
  return html
    .replace(/<[^>]+>/g, ' ')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The error messages shown beside `field` (inside its `<div id="{field}-error">`), without the "Error:" prefix. */
export function fieldErrors(html: string, field: string): string[] {
  const block = new RegExp(`<div id="${field}-error">([\\s\\S]*?)</div>`).exec(html);
  if (!block) return [];
  return [...(block[1] ?? '').matchAll(/<p class="error">([\s\S]*?)<\/p>/g)].map((m) => stripTags(m[1] ?? '').replace(/^Error: /, ''));
}

/** The `<input>` tag of `name`, or undefined. */
export function inputTag(html: string, name: string): string | undefined {
  return new RegExp(`<input\\b[^>]*\\sname="${name}"[^>]*>`).exec(html)?.[0];
}

/** Whether `<label for="{id}">` exists: every input must have one. */
export function hasLabelFor(html: string, id: string): boolean {
  return new RegExp(`<label for="${id}">`).test(html);
}

export function pageText(html: string): string {
  return stripTags(html);
}

/** The claims of a JWT, unverified (tests check what the provider put in). */
export function jwtClaims(jwt: string): Record<string, unknown> {
  const payload = jwt.split('.')[1] ?? '';
  return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
}
