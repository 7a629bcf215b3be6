import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { LOCAL_EMULATOR } from '../src/config/environment.js';
import { registerDssaRoutes } from './dssa.js';
import { BodyError } from './http-body.js';
import { escapeHtml, page } from './html.js';
import { registerLacaRoutes } from './laca.js';
import { backchannelLogoutUriFor, createOidcProvider } from './oidc.js';
import { registerPdxApiRoutes } from './pdx-api.js';
import { registerPrivateKeyFormRoutes } from './private-key-form.js';
import { logOut, type EmulatorFaults, type EmulatorOptions, type EmulatorRuntime } from './runtime.js';
import { EmulatorStore, type ConnectionView, type DeliveryRecord, type MemberView } from './store.js';

export type { EmulatorFaults, EmulatorOptions } from './runtime.js';
export type { ConnectionView, DeliveryAttempt, DeliveryRecord, MemberView } from './store.js';

export interface EmulatorState {
  /** Members without any secret. */
  readonly members: MemberView[];
  /** Approved PDX connections, without their member keys. */
  readonly connections: ConnectionView[];
  /** Callback deliveries with every attempt and the subscriber's answers (member key redacted). */
  readonly deliveries: DeliveryRecord[];
}

export interface RunningEmulator {
  /** The base URL of everything (OIDC and PDX API): the same as the issuer. */
  url: string;
  issuer: string;
  options: EmulatorOptions;
  setFaults(faults: EmulatorFaults): void;
  /** members (without secrets in any printout), PDX connections, callback deliveries with their answers */
  state: EmulatorState;
  /** The Member Connection Key the callback carried, for tests that check where the subscriber keeps it. */
  connectionKey(connectionId: string): string | undefined;
  close(): Promise<void>;
}

const trimmed = (value: string | undefined) => (value === undefined || value.trim() === '' ? undefined : value.trim());

/**
 * The options when none are given: the environment variables the BFF reads too (architecture.md,
 * "Configuration"), so that both sides agree, and LOCAL_EMULATOR's shared development credentials.
 */
export function defaultEmulatorOptions(env: NodeJS.ProcessEnv = process.env): EmulatorOptions {
  const portText = trimmed(env.EMULATOR_PORT) ?? '4000';
  const port = Number(portText);
  if (!/^[0-9]+$/.test(portText) || port > 65535) throw new Error(`EMULATOR_PORT: must be a port number (0 to 65535), not "${portText}"`);
  const bff = (trimmed(env.PUBLIC_BASE_URL) ?? 'http://localhost:3000').replace(/\/+$/, '');
  const frontends = (trimmed(env.FRONTEND_ORIGINS) ?? 'http://localhost:3000').split(',').map((o) => o.trim().replace(/\/+$/, ''));
  return {
    port,
    host: trimmed(env.EMULATOR_HOST) ?? '127.0.0.1',
    publicUrl: trimmed(env.EMULATOR_PUBLIC_URL),
    clientId: trimmed(env.MYDEX_CLIENT_ID) ?? LOCAL_EMULATOR.clientId,
    clientSecret: trimmed(env.MYDEX_CLIENT_SECRET) ?? LOCAL_EMULATOR.clientSecret,
    redirectUris: [`${bff}/v1/auth/oidc/callback`],
    postLogoutRedirectUris: [...new Set([bff, ...frontends].filter(Boolean).flatMap((o) => [o, `${o}/`]))],
    connectionNid: trimmed(env.MYDEX_CONNECTION_NID) ?? LOCAL_EMULATOR.connectionNid,
    connectionToken: trimmed(env.MYDEX_CONNECTION_TOKEN) ?? LOCAL_EMULATOR.connectionToken,
    callbackUrl: trimmed(env.MYDEX_CALLBACK_URL) ?? `${bff}/v1/connections/callback`,
  };
}

/** Starts the emulator: listens first (port 0 picks a free port), then builds the provider for that URL. */
export async function startEmulator(overrides: Partial<EmulatorOptions> = {}): Promise<RunningEmulator> {
  const options: EmulatorOptions = { ...defaultEmulatorOptions(), ...overrides };
  let faults: EmulatorFaults = { ...options.faults };
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const baseUrl = (options.publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, '');
  const resolved: EmulatorOptions = { ...options, port, publicUrl: baseUrl };

  const store = new EmulatorStore();
  const timers = new Set<NodeJS.Timeout>();
  const closing = new AbortController();
  let provider;
  try {
    provider = createOidcProvider(
      {
        issuer: baseUrl,
        clientId: options.clientId,
        clientSecret: options.clientSecret,
        redirectUris: options.redirectUris,
        postLogoutRedirectUris: options.postLogoutRedirectUris,
        backchannelLogoutUri:
          options.backchannelLogoutUri === null
            ? undefined
            : (options.backchannelLogoutUri ?? backchannelLogoutUriFor(options.redirectUris[0])),
      },
      store,
    );
  } catch (error) {
    await closeServer(server);
    throw error;
  }
  // Behind a TLS-terminating proxy (publicUrl https) oidc-provider must trust X-Forwarded-Proto.
  provider.proxy = baseUrl.startsWith('https:');
  provider.silent = true;

  const runtime: EmulatorRuntime = {
    options: resolved,
    baseUrl,
    store,
    provider,
    faults: () => faults,
    log: options.log ?? (() => undefined),
    later(ms, task) {
      if (closing.signal.aborted) return;
      const timer = setTimeout(() => {
        timers.delete(timer);
        task();
      }, ms);
      timers.add(timer);
    },
    closing: closing.signal,
  };
  provider.on('server_error', (_ctx: unknown, error: Error) => runtime.log(`oidc-provider server_error: ${error.message}`));
  provider.on('backchannel.error', (_ctx: unknown, error: Error) => runtime.log(`back-channel logout delivery failed: ${error.message}`));

  const router = new Router();
  registerLacaRoutes(router, runtime);
  registerPdxApiRoutes(router, runtime);
  registerPrivateKeyFormRoutes(router, runtime);
  registerDssaRoutes(router, runtime);
  provider.use(errorBoundary(runtime));
  provider.use(endIdentityOnLogout(runtime));
  provider.use(router.routes());
  server.on('request', provider.callback());

  return {
    url: baseUrl,
    issuer: baseUrl,
    options: resolved,
    setFaults(next) {
      faults = { ...next };
    },
    state: {
      get members() {
        return store.memberViews();
      },
      get connections() {
        return store.connectionViews();
      },
      get deliveries() {
        return store.deliveries;
      },
    },
    connectionKey: (connectionId) => store.connectionKey(connectionId),
    async close() {
      closing.abort();
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      await closeServer(server);
    },
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

const isPdxApiPath = (path: string) => path.startsWith('/api/') || path.startsWith('/access-token/');

/**
 * Errors in the emulator's own routes become Mydex-shaped answers (JSON on the PDX API, a page
 * elsewhere), never a stack trace. oidc-provider answers its own errors itself.
 */
function errorBoundary(runtime: EmulatorRuntime) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
    } catch (caught) {
      const error = caught as Error & { status?: number; expose?: boolean; error_description?: string };
      const status = error instanceof BodyError ? error.status : (error.status ?? 500);
      if (status >= 500) runtime.log(`error on ${ctx.method} ${ctx.path}: ${error.message}`);
      ctx.status = status;
      if (isPdxApiPath(ctx.path)) {
        ctx.body = status >= 500 ? { error: { message: 'Internal error.' } } : { success: 0, message: error.message };
        return;
      }
      // oidc-provider's SessionNotFound: the interaction expired or its cookie is missing.
      const message =
        status >= 500
          ? 'Something went wrong.'
          : error.name === 'SessionNotFound'
            ? 'Your login session has expired or was started in another browser. Go back to the app and start again.'
            : (error.error_description ?? error.message);
      ctx.type = 'html';
      ctx.body = page('Something went wrong', `<p role="alert">${escapeHtml(message)}</p>`);
    }
  };
}

/** Logging out at the OP (end-session confirmed) also ends the member's login at Mydex's own pages. */
function endIdentityOnLogout(runtime: EmulatorRuntime) {
  return async (ctx: Context, next: Next) => {
    await next();
    if (ctx.method === 'POST' && ctx.path === '/oauth2/sessions/logout/confirm' && ctx.status < 400) logOut(ctx, runtime);
  };
}
