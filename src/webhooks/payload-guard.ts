/**
 * Webhook payloads leave the BFF for an integrator's backend, so they carry identifiers and states,
 * never a secret, a key, a token, a password or an email address. Rather than trust every producer,
 * the outbox refuses a payload with a key named like one (anywhere in it, any letter case): a
 * deliberately blunt rule (`monkey` is refused too; name it otherwise).
 */
const FORBIDDEN_KEY = /key|password|token|secret|e[-_]?mail/i;

/** The JSON paths of every key named like a secret (`member.email`, `keys[0].keyId`), none when clean. */
export function secretLikeKeys(value: unknown, path = ''): string[] {
  if (Array.isArray(value)) return value.flatMap((item, index) => secretLikeKeys(item, `${path}[${index}]`));
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value as Record<string, unknown>).flatMap(([key, item]) => {
    const here = path === '' ? key : `${path}.${key}`;
    return [...(FORBIDDEN_KEY.test(key) ? [here] : []), ...secretLikeKeys(item, here)];
  });
}

export class SecretInWebhookPayloadError extends Error {
  constructor(
    readonly eventType: string,
    readonly paths: string[],
  ) {
    super(
      `webhook ${eventType} refused: its payload has keys named like a secret or an email (${paths.join(', ')}); webhooks carry ids and states only`,
    );
    this.name = 'SecretInWebhookPayloadError';
  }
}
