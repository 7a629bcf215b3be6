import { createApp } from './app.factory.js';
import { EnvironmentError, validateEnvironment } from './config/environment.js';

async function main(): Promise<void> {
  let env;
  try {
    env = validateEnvironment(process.env);
  } catch (error) {
    if (error instanceof EnvironmentError) {
      process.stderr.write(`${error.message}\nSee README.md ("Configuration").\n`);
      process.exit(78);
    }
    throw error;
  }
  if (env.MYDEX_ISSUER === undefined) {
    // No Mydex settings: run the local emulator beside the BFF with the same credentials.
    const { startEmulator } = await import('../emulator/emulator.js');
    const emulator = await startEmulator({ port: env.EMULATOR_PORT });
    process.stdout.write(
      `No MYDEX_ISSUER set: started the local Mydex emulator at ${emulator.url} (issuer ${emulator.issuer}). ` +
        'Set MYDEX_* variables to talk to real Mydex.\n',
    );
  }
  const app = await createApp();
  await app.listen({ port: env.PORT, host: '0.0.0.0' });
  process.stdout.write(`Mydex BFF listening on ${env.PUBLIC_BASE_URL} (port ${env.PORT}); API docs at ${env.PUBLIC_BASE_URL}/docs\n`);
}

void main();
