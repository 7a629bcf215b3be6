import { describe, expect, it } from 'vitest';
import {
  isRefusal,
  mydexMessage,
  parseJson,
  retryAfterSeconds,
  safeMessage,
  shortTokenFromAnswer,
  takenFields,
  urlFromAnswer,
} from './mydex-answers.js';

describe('reading Mydex answers', () => {
  it('reads the message from all three of Mydex error shapes', () => {
    expect(mydexMessage({ error: { message: 'Mydexid already in use.' } })).toBe('Mydexid already in use.');
    expect(mydexMessage({ success: 0, message: 'Email already in use.' })).toBe('Email already in use.');
    expect(mydexMessage('Email already in use.')).toBe('Email already in use.');
  });

  it('joins a list of messages and finds nothing in a body without one', () => {
    expect(mydexMessage({ success: 0, message: ['One.', 'Two.'] })).toBe('One. Two.');
    expect(mydexMessage({ success: 0 })).toBeUndefined();
    expect(mydexMessage(42)).toBeUndefined();
    expect(mydexMessage(undefined)).toBeUndefined();
  });

  it('recognises the MydexID and email uniqueness messages in any letter case', () => {
    expect(takenFields('Mydexid already in use.')).toEqual({ mydexid: true, email: false });
    expect(takenFields('MYDEXID ALREADY IN USE.')).toEqual({ mydexid: true, email: false });
    expect(takenFields('Email already in use.')).toEqual({ mydexid: false, email: true });
    expect(takenFields('Mydexid already in use. Email already in use.')).toEqual({ mydexid: true, email: true });
    expect(takenFields('The password is too short.')).toEqual({ mydexid: false, email: false });
  });

  it('treats a 2xx body with success 0 or an error member as a refusal', () => {
    expect(isRefusal({ success: 0, message: 'x' })).toBe(true);
    expect(isRefusal({ error: { message: 'x' } })).toBe(true);
    expect(isRefusal('https://pdx.example/form')).toBe(false);
    expect(isRefusal({ url: 'https://pdx.example/form' })).toBe(false);
  });

  it('accepts a URL as a JSON string or {url}, and only http(s)', () => {
    expect(urlFromAnswer('https://pdx.example/pk?t=1')).toBe('https://pdx.example/pk?t=1');
    expect(urlFromAnswer({ url: 'http://localhost:4000/pk' })).toBe('http://localhost:4000/pk');
    expect(urlFromAnswer('javascript:alert(1)')).toBeUndefined();
    expect(urlFromAnswer('not a url')).toBeUndefined();
    expect(urlFromAnswer({ href: 'https://pdx.example' })).toBeUndefined();
  });

  it('accepts a short token as a JSON string or {token}, and nothing with spaces or control characters', () => {
    expect(shortTokenFromAnswer('abc123')).toBe('abc123');
    expect(shortTokenFromAnswer({ token: 'abc123' })).toBe('abc123');
    expect(shortTokenFromAnswer('a b')).toBeUndefined();
    expect(shortTokenFromAnswer('')).toBeUndefined();
    expect(shortTokenFromAnswer(['abc'])).toBeUndefined();
  });

  it('parses JSON and leaves garbage undefined', () => {
    expect(parseJson('"x"')).toBe('x');
    expect(parseJson('<html>')).toBeUndefined();
    expect(parseJson('')).toBeUndefined();
  });

  it('reads Retry-After seconds within 1..300 and ignores dates', () => {
    expect(retryAfterSeconds('30')).toBe(30);
    expect(retryAfterSeconds('0')).toBe(1);
    expect(retryAfterSeconds('99999')).toBe(300);
    expect(retryAfterSeconds('Wed, 21 Oct 2015 07:28:00 GMT')).toBeUndefined();
    expect(retryAfterSeconds(null)).toBeUndefined();
  });

  it('cuts secrets and control characters out of a message shown to the member', () => {
    expect(safeMessage('Password hunter22x is weak\n', ['hunter22x'])).toBe('Password [redacted] is weak');
    expect(safeMessage('x'.repeat(400), [])).toHaveLength(300);
  });
});
