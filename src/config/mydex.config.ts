import { registerAs } from '@nestjs/config';
import { validateEnvironment } from './environment.js';
import { CONNECTION_CALLBACK } from '../common/http/routes.js';

/**
 * The Mydex side. With no MYDEX_ISSUER the local emulator stands in for Mydex, on EMULATOR_PORT, with
 * the shared development credentials (LOCAL_EMULATOR) unless they are overridden.
 */
export const mydexConfig = registerAs('mydex', () => {
  const env = validateEnvironment(process.env);
  const emulated = env.MYDEX_ISSUER === undefined;
  const emulatorUrl = (env.EMULATOR_PUBLIC_URL ?? `http://localhost:${env.EMULATOR_PORT}`).replace(/\/+$/, '');
  const publicBaseUrl = env.PUBLIC_BASE_URL.replace(/\/+$/, '');
  return {
    emulated,
    emulatorPort: env.EMULATOR_PORT,
    issuer: env.MYDEX_ISSUER ?? emulatorUrl,
    clientId: env.MYDEX_CLIENT_ID,
    clientSecret: env.MYDEX_CLIENT_SECRET,
    scopes: env.MYDEX_SCOPES,
    pdxUrl: (env.MYDEX_PDX_URL ?? emulatorUrl).replace(/\/+$/, ''),
    connectionNid: env.MYDEX_CONNECTION_NID,
    connectionToken: env.MYDEX_CONNECTION_TOKEN,
    callbackUrl: env.MYDEX_CALLBACK_URL ?? `${publicBaseUrl}${CONNECTION_CALLBACK.path}`,
    /** Per-call timeout for every request to Mydex (MydexClient). */
    timeoutMs: env.MYDEX_TIMEOUT_MS,
  };
});
