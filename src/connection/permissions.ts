import { isJsonObject } from '../common/problem/problem-validation.pipe.js';
/**
 * Mydex's `fields` structure (the permissions a member granted) and its normalised form.
 *
 * Mydex sends PHP-style keys such as `fields[field_ds_personal_details][0][][access][r][a]=1` and
 * `...[r][s]=A`: a dataset, an instance, then `access` with `r`/`w` (read/write), `a` granted (1) or
 * denied (0) and `s` the style, `A` automatic or `R` on request. Only the example is documented [I]:
 * the raw structure is always kept as received, and this normal form is derived from it.
 */

export type AccessStyle = 'automatic' | 'on_request';

export interface FieldPermission {
  read: boolean;
  write: boolean;
}

export interface DatasetPermission extends FieldPermission {
  readStyle: AccessStyle | null;
  writeStyle: AccessStyle | null;
  /** Per-field grants, when Mydex names fields inside the dataset [I]. */
  fields?: Record<string, FieldPermission>;
}

/** `{ [dataset]: { read, write, readStyle, writeStyle, fields? } }`, keyed by Mydex's dataset name. */
export type NormalisedPermissions = Record<string, DatasetPermission>;

/** Limits on `fields`, checked before anything walks it. */
const FIELDS_LIMITS = { depth: 10, nodes: 20_000, keyLength: 200, stringLength: 10_000 } as const;

/**
 * Why `value` is not a well-formed `fields` structure, or undefined when it is: an object of
 * datasets, nested objects and lists at most FIELDS_LIMITS.depth deep, with string, number, boolean
 * or null leaves. Iterative, so hostile nesting cannot exhaust the stack.
 */
export function fieldsProblem(value: unknown): string | undefined {
  if (!isJsonObject(value)) return 'fields must be an object of datasets.';
  const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 0 }];
  let nodes = 0;
  while (stack.length > 0) {
    const { node, depth } = stack.pop()!;
    if (++nodes > FIELDS_LIMITS.nodes) return `fields has more than ${FIELDS_LIMITS.nodes} entries.`;
    if (node === null || typeof node === 'boolean') continue;
    if (typeof node === 'number') {
      if (!Number.isFinite(node)) return 'fields holds a number that is not finite.';
      continue;
    }
    if (typeof node === 'string') {
      if (node.length > FIELDS_LIMITS.stringLength) return `fields holds a value longer than ${FIELDS_LIMITS.stringLength} characters.`;
      continue;
    }
    if (typeof node !== 'object') return 'fields holds a value that is not text, a number, a boolean, a list or an object.';
    if (depth >= FIELDS_LIMITS.depth) return `fields is nested deeper than ${FIELDS_LIMITS.depth} levels.`;
    for (const [key, child] of Object.entries(node as Record<string, unknown>)) {
      if (key.length > FIELDS_LIMITS.keyLength) return `fields has a name longer than ${FIELDS_LIMITS.keyLength} characters.`;
      stack.push({ node: child, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Derives the normal form; `fields` must have passed fieldsProblem(). Unknown shapes grant nothing. */
export function normalisePermissions(fields: Record<string, unknown>): NormalisedPermissions {
  return Object.fromEntries(Object.entries(fields).map(([dataset, node]) => [dataset, datasetPermission(dataset, node)]));
}

function datasetPermission(dataset: string, root: unknown): DatasetPermission {
  const result: DatasetPermission = { read: false, write: false, readStyle: null, writeStyle: null };
  const perField = new Map<string, FieldPermission>();
  const stack: { node: unknown; owner: string }[] = [{ node: root, owner: dataset }];
  while (stack.length > 0) {
    const { node, owner } = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    const entries = Object.entries(node as Record<string, unknown>);
    for (const [key, child] of entries) {
      if (key === 'access') {
        const grant = accessGrant(child);
        if (owner === dataset) {
          result.read ||= grant.read;
          result.write ||= grant.write;
        } else {
          const field = perField.get(owner) ?? { read: false, write: false };
          perField.set(owner, { read: field.read || grant.read, write: field.write || grant.write });
        }
        // A granted entry's style wins over a denied one's; otherwise the first style seen.
        if (grant.readStyle && (result.readStyle === null || grant.read)) result.readStyle = grant.readStyle;
        if (grant.writeStyle && (result.writeStyle === null || grant.write)) result.writeStyle = grant.writeStyle;
      } else if (key !== 'value') {
        // Instance indices (`[0]`, `[]`) keep the owner; any other name is a field of the dataset.
        stack.push({ node: child, owner: /^[0-9]*$/.test(key) ? owner : key });
      }
    }
  }
  if (perField.size > 0) {
    result.fields = Object.fromEntries([...perField.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const grant of perField.values()) {
      result.read ||= grant.read;
      result.write ||= grant.write;
    }
  }
  return result;
}

function accessGrant(access: unknown): FieldPermission & { readStyle: AccessStyle | null; writeStyle: AccessStyle | null } {
  const side = (name: 'r' | 'w') => (isJsonObject(access) && isJsonObject(access[name]) ? access[name] : {});
  const r = side('r');
  const w = side('w');
  return { read: granted(r.a), write: granted(w.a), readStyle: style(r.s), writeStyle: style(w.s) };
}

function granted(value: unknown): boolean {
  return value === 1 || value === '1' || value === true || value === 'true';
}

function style(value: unknown): AccessStyle | null {
  if (value === 'A' || value === 'a') return 'automatic';
  if (value === 'R' || value === 'r') return 'on_request';
  return null;
}
