import { describe, expect, it } from 'vitest';
import { secretLikeKeys } from './payload-guard.js';

describe('webhook payload guard', () => {
  it('finds keys named like a secret or an email at any depth, in any letter case', () => {
    expect(
      secretLikeKeys({
        connectionId: '1-2',
        member: { mydexid: 'alice1', Email: 'a@example.org', e_mail: 'x' },
        linkingToken: 't',
        grants: [{ dataset: 'field_ds_personal_details', keyId: 'k1' }],
        PASSWORD: 'p',
        clientSecret: 's',
        apikey: 'a',
      }),
    ).toEqual(['member.Email', 'member.e_mail', 'linkingToken', 'grants[0].keyId', 'PASSWORD', 'clientSecret', 'apikey']);
  });

  it('passes ids, states and values that merely look sensitive under an innocent key', () => {
    expect(
      secretLikeKeys({ connectionId: '1-2', uid: 3, status: 'connected', permissions: [{ dataset: 'x', read: true }], note: 'email me' }),
    ).toEqual([]);
    expect(secretLikeKeys({})).toEqual([]);
  });
});
