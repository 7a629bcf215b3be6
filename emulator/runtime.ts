import type { Context } from 'koa';
import type Provider from 'oidc-provider';
import type { EmulatorStore, Member } from './store.js';

export interface EmulatorFaults {
  /** Delay every PDX API answer by this many milliseconds. */
  pdxDelayMs?: number;
  /** Answer every PDX API call with 200 and a body that is not JSON. */
  pdxGarbage?: boolean;
  /** Answer every PDX API call with this status (e.g. 500, 503) and a Mydex error body. */
  pdxStatus?: number;
}

export interface EmulatorOptions {
  /** 0 = a random free port. Default: EMULATOR_PORT or 4000. */
  port: number;
  /** Default 127.0.0.1. */
  host: string;
  /** The issuer and base of every URL the emulator hands out (no trailing slash). Default http://localhost:<port>. */
  publicUrl?: string;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /**
   * The client's back-channel logout URI. Default: beside the first redirect URI when that is a BFF's
   * callback (`…/v1/auth/oidc/callback` → `…/v1/auth/oidc/backchannel-logout`); null: none.
   */
  backchannelLogoutUri?: string | null;
  connectionNid: string;
  connectionToken: string;
  /** Where DSSA approval sends the subscriber callback. */
  callbackUrl: string;
  faults?: EmulatorFaults;
  /** Waits before each retry of a failed callback delivery. Default [250, 1000, 3000] ms. */
  callbackRetryDelaysMs?: number[];
  /** Receives one line per notable event (never a secret). Default: silent. */
  log?: (line: string) => void;
}

/** What the route modules share: one per running emulator. */
export interface EmulatorRuntime {
  options: EmulatorOptions;
  /** The issuer URL, also the base of every URL handed out. */
  baseUrl: string;
  store: EmulatorStore;
  provider: Provider;
  faults(): EmulatorFaults;
  log(line: string): void;
  /** Registers a timer so close() can cancel it. */
  later(ms: number, task: () => void): void;
  /** Aborted when the emulator closes, so in-flight callback deliveries stop. */
  closing: AbortSignal;
}

// --- The member's login at "Mydex" (LaCa, Private Key form, DSSA share it; the OIDC session is separate).

const IDENTITY_COOKIE = 'mydex_identity';
const IDENTITY_TTL_MS = 12 * 3600 * 1000;

export function currentMember(ctx: Context, runtime: EmulatorRuntime): Member | undefined {
  return runtime.store.sessionMember(ctx.cookies.get(IDENTITY_COOKIE, { signed: true }));
}

export function logIn(ctx: Context, runtime: EmulatorRuntime, member: Member): void {
  runtime.store.endSession(ctx.cookies.get(IDENTITY_COOKIE, { signed: true }));
  const session = runtime.store.startSession(member.sub, IDENTITY_TTL_MS);
  ctx.cookies.set(IDENTITY_COOKIE, session.id, { signed: true, httpOnly: true, sameSite: 'lax', path: '/', maxAge: IDENTITY_TTL_MS });
}

export function logOut(ctx: Context, runtime: EmulatorRuntime): void {
  runtime.store.endSession(ctx.cookies.get(IDENTITY_COOKIE, { signed: true }));
  ctx.cookies.set(IDENTITY_COOKIE, null, { signed: true, path: '/' });
}
