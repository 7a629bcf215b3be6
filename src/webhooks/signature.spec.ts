import { describe, expect, it } from 'vitest';
import { webhookKey } from '../config/environment.js';
import { signWebhook, webhookHeaders } from './signature.js';

describe('Standard Webhooks signature', () => {
  it("reproduces the specification's published test vector", () => {
    const key = webhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')!;
    expect(signWebhook(key, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe(
      'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
    );
  });

  it("signs with the attempt's time in whole seconds and the event's id", () => {
    const key = webhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')!;
    const headers = webhookHeaders(key, 'msg_1', '{}', 1_700_000_000_999);
    expect(headers).toEqual({
      'webhook-id': 'msg_1',
      'webhook-timestamp': '1700000000',
      'webhook-signature': signWebhook(key, 'msg_1', 1_700_000_000, '{}'),
    });
  });

  it('reads the key of a whsec_ secret of 24 to 64 bytes only', () => {
    expect(webhookKey(`whsec_${Buffer.alloc(32, 1).toString('base64')}`)).toEqual(Buffer.alloc(32, 1));
    expect(webhookKey(`whsec_${Buffer.alloc(23, 1).toString('base64')}`)).toBeUndefined();
    expect(webhookKey(`whsec_${Buffer.alloc(65, 1).toString('base64')}`)).toBeUndefined();
    expect(webhookKey(Buffer.alloc(32, 1).toString('base64'))).toBeUndefined();
    expect(webhookKey('whsec_not base64!')).toBeUndefined();
    expect(webhookKey('whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS')).toBeUndefined();
  });
});
