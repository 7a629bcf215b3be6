import { describe, expect, it } from 'vitest';
import { jsonShapeProblem } from './json-body.js';

const limits = { bytes: 1024, keys: 4, depth: 3 };
const problem = (text: string) => jsonShapeProblem(Buffer.from(text), limits)?.code;

describe('jsonShapeProblem', () => {
  it('counts object keys and array items over the whole document', () => {
    expect(problem('{"a":1,"b":2,"c":3,"d":4}')).toBeUndefined();
    expect(problem('{"a":1,"b":2,"c":3,"d":4,"e":5}')).toBe('body_too_complex');
    expect(problem('{"a":{"b":1},"c":{"d":1}}')).toBeUndefined();
    expect(problem('{"a":{"b":1},"c":{"d":1,"e":1}}')).toBe('body_too_complex');
    expect(problem('[1,2,3,4]')).toBeUndefined();
    expect(problem('[1,2,3,4,5]')).toBe('body_too_complex');
    expect(problem('{"a":[1,2,3]}')).toBeUndefined();
    expect(problem('{"a":[1,2,3,4]}')).toBe('body_too_complex');
    expect(problem('[[],[],[],[]]')).toBeUndefined();
    expect(problem('[ [ ] , [ ] , [ ] , [ ] , [ ] ]')).toBe('body_too_complex');
  });

  it('measures nesting ({} is 1) and ignores brackets, colons and commas inside strings', () => {
    expect(problem('{"a":{"b":{}}}')).toBeUndefined();
    expect(problem('{"a":{"b":{"c":{}}}}')).toBe('body_too_complex');
    expect(problem('[[[]]]')).toBeUndefined();
    expect(problem('[[[[]]]]')).toBe('body_too_complex');
    expect(problem('{"a":"[[[[{{{{:::,,,,"}')).toBeUndefined();
    expect(problem('{"a\\":[[[[,,,,":"\\\\"}')).toBeUndefined();
  });

  it('refuses an unpaired surrogate escape in a key or a value, accepts a pair', () => {
    expect(problem('{"e":"\\ud83d\\ude00"}')).toBeUndefined();
    expect(problem('{"e":"\\uD83D\\uDE00x"}')).toBeUndefined();
    expect(problem('{"e":"\\udfff@b.co"}')).toBe('invalid_unicode');
    expect(problem('{"\\ud800":1}')).toBe('invalid_unicode');
    expect(problem('{"e":"\\ud800"}')).toBe('invalid_unicode');
    expect(problem('{"e":"\\ud800\\u0041"}')).toBe('invalid_unicode');
    expect(problem('{"e":"\\ud800\\ud800"}')).toBe('invalid_unicode');
    expect(problem('{"e":"\\\\ud800"}')).toBeUndefined(); // an escaped backslash, then plain text
    expect(problem('{"e":"\\u00e9\\u0000"}')).toBeUndefined();
  });
});
