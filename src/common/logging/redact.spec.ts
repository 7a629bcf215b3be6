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
});
