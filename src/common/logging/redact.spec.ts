import { describe, expect, it } from 'vitest';
import { CENSOR, redact, redactUrl } from './redact.js';

describe('log redaction', () => {
  it('censors secrets at any depth, whatever the key case', () => {
    const out = redact({
      msg: 'x',
      body: { mydexid: 'alice1', Password: 'hunter22!', nested: { member_key: 'k', clientSecret: 's' } },
      headers: { authorization: 'Bearer t', Authentication: 'abc', cookie: 'bff_session=1' },
      list: [{ token: 't' }],
    }) as Record<string, Record<string, unknown>>;
    expect(out.body).toEqual({ mydexid: 'alice1', Password: CENSOR, nested: { member_key: CENSOR, clientSecret: CENSOR } });
    expect(out.headers).toEqual({ authorization: CENSOR, Authentication: CENSOR, cookie: CENSOR });
    expect(out.list).toEqual([{ token: CENSOR }]);
  });

  it('masks sensitive query parameters in URLs and leaves the rest', () => {
    expect(redactUrl('/v1/auth/oidc/callback?code=abc&state=xyz&iss=https%3A%2F%2Fop')).toBe(
      `/v1/auth/oidc/callback?code=${CENSOR}&state=${CENSOR}&iss=https%3A%2F%2Fop`,
    );
    expect(redact({ url: '/x?access_token=1&a=2' })).toEqual({ url: `/x?access_token=${CENSOR}&a=2` });
  });

  it('keeps the code of our own problem answers and their field errors', () => {
    const problem = {
      type: 'http://localhost:3000/errors/validation_failed',
      code: 'validation_failed',
      errors: [{ field: 'mydexid', code: 'mydexid_digits_only', message: 'A MydexID cannot be made up only of digits.' }],
    };
    expect(redact({ msg: 'refused', problem })).toEqual({ msg: 'refused', problem });
    expect(redact({ code: 'state_reused', transactionId: 't1' })).toEqual({ code: 'state_reused', transactionId: 't1' });
  });

  it('still censors secrets named code: the OIDC code parameter and the exchange body', () => {
    expect(redactUrl('/v1/auth/oidc/callback?code=state_reused')).toBe(`/v1/auth/oidc/callback?code=${CENSOR}`);
    expect(redact({ query: { code: 'Zk3q-9xQeV_a1b2c3', state: 's' } })).toEqual({ query: { code: CENSOR, state: CENSOR } });
    expect(redact({ body: { code: 'k8f2a9c1d0e7b6a5', exchangeSecret: 'x' } })).toEqual({ body: { code: CENSOR, exchangeSecret: CENSOR } });
    // A field error's shape does not excuse a value that is not a code of ours.
    expect(redact({ field: 'a', message: 'b', code: 'Zk3q-9xQeV' })).toEqual({ field: 'a', message: 'b', code: CENSOR });
    expect(redact({ code: { nested: 'x' } })).toEqual({ code: CENSOR });
  });
});
