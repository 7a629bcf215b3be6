import qs from 'qs';
import { describe, expect, it } from 'vitest';
import { fieldsProblem, normalisePermissions } from './permissions.js';

const parse = (form: string) => qs.parse(form, { depth: 10 }).fields as Record<string, unknown>;

describe('normalisePermissions', () => {
  it("reads Mydex's example keys: read granted automatically, write denied on request", () => {
    const fields = parse(
      'fields[field_ds_personal_details][0][][access][r][a]=1&fields[field_ds_personal_details][0][][access][r][s]=A' +
        '&fields[field_ds_personal_details][0][][access][w][a]=0&fields[field_ds_personal_details][0][][access][w][s]=R',
    );
    expect(normalisePermissions(fields)).toEqual({
      field_ds_personal_details: { read: true, write: false, readStyle: 'automatic', writeStyle: 'on_request' },
    });
  });

  it('treats anything but 1 as not granted and unknown styles as none', () => {
    const fields = { ds: [[{ access: { r: { a: 'yes', s: 'X' }, w: { a: 2 } } }]] };
    expect(normalisePermissions(fields)).toEqual({ ds: { read: false, write: false, readStyle: null, writeStyle: null } });
  });

  it('collects named fields inside a dataset and grants the dataset what any field grants', () => {
    const fields = parse(
      'fields[ds_contact][0][field_email][access][r][a]=1&fields[ds_contact][0][field_email][access][r][s]=R' +
        '&fields[ds_contact][0][field_phone][access][w][a]=1&fields[ds_contact][0][field_phone][value]=0123',
    );
    expect(normalisePermissions(fields)).toEqual({
      ds_contact: {
        read: true,
        write: true,
        readStyle: 'on_request',
        writeStyle: null,
        fields: { field_email: { read: true, write: false }, field_phone: { read: false, write: true } },
      },
    });
  });

  it('gives a dataset with no access entries no permissions', () => {
    expect(normalisePermissions({ ds: { value: 'x' } })).toEqual({ ds: { read: false, write: false, readStyle: null, writeStyle: null } });
  });
});

describe('fieldsProblem', () => {
  it("accepts Mydex's nested structure", () => {
    expect(fieldsProblem(parse('fields[ds][0][][access][r][a]=1'))).toBeUndefined();
  });

  it('refuses a list, a string, deep nesting, long values and too many entries', () => {
    expect(fieldsProblem([1])).toMatch(/object/);
    expect(fieldsProblem('x')).toMatch(/object/);
    let deep: unknown = 'leaf';
    for (let i = 0; i < 11; i++) deep = { n: deep };
    expect(fieldsProblem(deep)).toMatch(/deeper/);
    expect(fieldsProblem({ ds: 'v'.repeat(10_001) })).toMatch(/longer/);
    expect(fieldsProblem({ ['k'.repeat(201)]: 1 })).toMatch(/name longer/);
    expect(fieldsProblem({ ds: Array.from({ length: 20_001 }, () => 1) })).toMatch(/more than/);
    expect(fieldsProblem({ ds: Number.POSITIVE_INFINITY })).toMatch(/finite/);
  });
});
