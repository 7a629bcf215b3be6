import { LOCAL_EMULATOR } from '../src/config/environment.js';
import { defaultEmulatorOptions, startEmulator } from './emulator.js';

/** Prints a secret only when it is the built-in development one; a secret set by the operator stays out of logs. */
function shown(value: string, builtIn: string, variable: string): string {
  return value === builtIn ? value : `(the value of ${variable})`;
}

/**
 * `npm run emulator`: the local Mydex emulator on its own. It prints what a subscriber would get from
 * Mydex (issuer, client credentials, Connection NID and token) and the callback URL it will call, so
 * the BFF or any other client can be pointed at it. Development credentials only.
 */
async function main(): Promise<void> {
  let options;
  try {
    options = defaultEmulatorOptions(process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    process.exit(78);
  }
  const emulator = await startEmulator({
    ...options,
    log: (line) => process.stdout.write(`[emulator] ${line}\n`),
  });
  const o = emulator.options;
  process.stdout.write(
    [
      `Local Mydex emulator listening on ${o.host}:${o.port}`,
      `  issuer (MYDEX_ISSUER, MYDEX_PDX_URL): ${emulator.issuer}`,
      `  discovery:                           ${emulator.issuer}/.well-known/openid-configuration`,
      `  client id (MYDEX_CLIENT_ID):         ${o.clientId}`,
      `  client secret (MYDEX_CLIENT_SECRET): ${shown(o.clientSecret, LOCAL_EMULATOR.clientSecret, 'MYDEX_CLIENT_SECRET')}`,
      `  redirect URIs:                       ${o.redirectUris.join(', ')}`,
      `  connection NID (MYDEX_CONNECTION_NID):     ${o.connectionNid}`,
      `  connection token (MYDEX_CONNECTION_TOKEN): ${shown(o.connectionToken, LOCAL_EMULATOR.connectionToken, 'MYDEX_CONNECTION_TOKEN')}`,
      `  callback URL (MYDEX_CALLBACK_URL):   ${o.callbackUrl}`,
      'These are development credentials for this emulator only; members live in memory until it stops.',
      '',
    ].join('\n'),
  );
  const stop = () => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main();
