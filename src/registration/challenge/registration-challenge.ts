/**
 * The optional human check on own-form registration (REGISTRATION_CHALLENGE). A provider verifies the
 * token the client's widget produced; the BFF never sees the puzzle itself.
 *
 * To add a provider: implement `RegistrationChallenge` and construct it in RegistrationChallengeCheck
 * (registration-challenge.guard.ts).
 */
export interface RegistrationChallenge {
  /** The provider's name, for metrics and logs. */
  readonly provider: string;
  /**
   * Whether `token` proves a human solved the challenge. Resolves false for a token the provider
   * refuses (wrong, expired, used). Rejects with `ChallengeUnavailableError` when the provider cannot
   * be asked or answers something unreadable, so the client gets 503, not a refusal it cannot fix.
   */
  verify(token: string, remoteIp: string | undefined): Promise<boolean>;
}

export class ChallengeUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ChallengeUnavailableError';
  }
}

/** The documented siteverify endpoints. */
export const SITEVERIFY_URLS = {
  /** Cloudflare Turnstile: developers.cloudflare.com/turnstile/get-started/server-side-validation/ */
  turnstile: 'https://challenges.cloudflare.com/turnstile/v0/siteverify',
  /** hCaptcha: docs.hcaptcha.com, "Verify the User Response Server Side" */
  hcaptcha: 'https://api.hcaptcha.com/siteverify',
} as const;

export type ChallengeProvider = keyof typeof SITEVERIFY_URLS;

/** Error codes that say our request or the provider failed, not the member: answered 503, not 403. */
const NOT_THE_CLIENTS_FAULT = new Set([
  'missing-input-secret',
  'invalid-input-secret',
  'internal-error',
  'bad-request',
  'sitekey-secret-mismatch',
]);

const VERIFY_TIMEOUT_MS = 5000;

/**
 * Turnstile and hCaptcha share one protocol: POST `application/x-www-form-urlencoded` with `secret`,
 * `response` (the token) and optionally `remoteip`; the answer is JSON `{success: boolean,
 * "error-codes": [...]}`. A token is single-use on both.
 */
export class SiteverifyChallenge implements RegistrationChallenge {
  constructor(
    readonly provider: ChallengeProvider,
    private readonly secret: string,
    private readonly verifyUrl: string = SITEVERIFY_URLS[provider],
    private readonly onMisconfiguration: (codes: string[]) => void = () => undefined,
  ) {}

  async verify(token: string, remoteIp: string | undefined): Promise<boolean> {
    const form = new URLSearchParams({ secret: this.secret, response: token });
    if (remoteIp) form.set('remoteip', remoteIp);
    let answer: Response;
    try {
      answer = await fetch(this.verifyUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: form.toString(),
        signal: AbortSignal.timeout(VERIFY_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (error) {
      const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : 'could not be reached';
      throw new ChallengeUnavailableError(`${this.provider} siteverify ${reason}`);
    }
    let body: unknown;
    try {
      body = await answer.json();
    } catch {
      body = undefined;
    }
    if (!answer.ok || body === null || typeof body !== 'object' || typeof (body as { success?: unknown }).success !== 'boolean') {
      throw new ChallengeUnavailableError(`${this.provider} siteverify answered HTTP ${answer.status} without a verdict`);
    }
    const { success } = body as { success: boolean };
    const codes = (body as { 'error-codes'?: unknown })['error-codes'];
    const errorCodes = Array.isArray(codes) ? codes.filter((code): code is string => typeof code === 'string') : [];
    if (!success && errorCodes.some((code) => NOT_THE_CLIENTS_FAULT.has(code))) {
      this.onMisconfiguration(errorCodes);
      throw new ChallengeUnavailableError(`${this.provider} siteverify could not verify: ${errorCodes.join(', ')}`);
    }
    return success;
  }
}
