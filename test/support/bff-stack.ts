import { createHash, randomBytes } from 'node:crypto';
import { startEmulator, type RunningEmulator } from '../../emulator/emulator.js';
import type { CreateAppOptions } from '../../src/app.factory.js';
import { LOCAL_EMULATOR } from '../../src/config/environment.js';
import { startTestApp, type TestApp } from './app.js';
import type { DatabaseTarget } from './database.js';
import { FRONTEND_ORIGIN, NATIVE_REDIRECT_URI } from './oidc-browser.js';
import { freePort } from '../../emulator/testing/free-port.js';

export { registerWebMember } from './oidc-browser.js';

/**
 * The emulator and one or more BFF instances wired to it (OIDC, PDX API and the connection callback)
 * with secrets made up for this run, so a suite can search every response for them. Used by the
 * fuzz, several-instances and fault suites.
 */

export interface StackSecrets {
  clientSecret: string;
  connectionToken: string;
  /** What Mydex sends in `Authentication`: SHA-512 hex of the connection token. */
  callbackAuth: string;
  dataEncryptionKey: string;
}

export interface BffStack {
  emulator: RunningEmulator;
  /** The first instance; its address is PUBLIC_BASE_URL (the "load balancer" every redirect names). */
  a: TestApp;
  publicBaseUrl: string;
  secrets: StackSecrets;
  /** The environment every instance gets (without per-instance overrides). */
  env: Record<string, string>;
  /** Another instance on the same database and PUBLIC_BASE_URL, with `env` on top. */
  startInstance(env?: Record<string, string>): Promise<TestApp>;
  close(): Promise<void>;
}

export function makeSecrets(): StackSecrets {
  const connectionToken = `conn-token-${randomBytes(18).toString('hex')}`;
  return {
    clientSecret: `client-secret-${randomBytes(18).toString('hex')}`,
    connectionToken,
    callbackAuth: createHash('sha512').update(connectionToken).digest('hex'),
    dataEncryptionKey: randomBytes(32).toString('base64'),
  };
}

export async function startBffStack(
  options: {
    engine?: 'sqlite' | 'postgres';
    env?: Record<string, string>;
    database?: DatabaseTarget;
    quiet?: boolean;
    imports?: CreateAppOptions['imports'];
  } = {},
): Promise<BffStack> {
  const engine = options.engine ?? 'sqlite';
  const secrets = makeSecrets();
  const port = await freePort();
  const publicBaseUrl = `http://127.0.0.1:${port}`;
  const emulator = await startEmulator({
    port: 0,
    clientId: LOCAL_EMULATOR.clientId,
    clientSecret: secrets.clientSecret,
    connectionNid: LOCAL_EMULATOR.connectionNid,
    connectionToken: secrets.connectionToken,
    redirectUris: [`${publicBaseUrl}/v1/auth/oidc/callback`],
    postLogoutRedirectUris: [`${FRONTEND_ORIGIN}/`],
    callbackUrl: `${publicBaseUrl}/v1/connections/callback`,
    callbackRetryDelaysMs: [50, 100],
  });
  const env: Record<string, string> = {
    MYDEX_ISSUER: emulator.issuer,
    MYDEX_PDX_URL: emulator.url,
    MYDEX_CLIENT_ID: LOCAL_EMULATOR.clientId,
    MYDEX_CLIENT_SECRET: secrets.clientSecret,
    MYDEX_CONNECTION_NID: LOCAL_EMULATOR.connectionNid,
    MYDEX_CONNECTION_TOKEN: secrets.connectionToken,
    DATA_ENCRYPTION_KEY: secrets.dataEncryptionKey,
    PUBLIC_BASE_URL: publicBaseUrl,
    FRONTEND_ORIGINS: FRONTEND_ORIGIN,
    NATIVE_REDIRECT_URIS: NATIVE_REDIRECT_URI,
    ...options.env,
  };
  let a: TestApp;
  try {
    a = await startTestApp(env, engine, { port, database: options.database, quiet: options.quiet, imports: options.imports });
  } catch (error) {
    await emulator.close();
    throw error;
  }
  const others: TestApp[] = [];
  return {
    emulator,
    a,
    publicBaseUrl,
    secrets,
    env,
    async startInstance(extra = {}) {
      const other = await startTestApp({ ...env, ...extra }, engine, { database: a.database });
      others.push(other);
      return other;
    },
    async close() {
      for (const other of others.splice(0)) await other.close().catch(() => undefined);
      await a.close().catch(() => undefined);
      // A fault suite may have stopped the emulator already.
      await emulator.close().catch(() => undefined);
    },
  };
}
