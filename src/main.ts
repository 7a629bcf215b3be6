import { createApp } from './app.factory.js';
import { flushLogs, installFatalHandlers, rootLogger } from './common/logging/log-output.js';
import { EnvironmentError, validateEnvironment } from './config/environment.js';
import { apiDocsEnabled } from './config/exposure.config.js';
import { demoSpaEnabled } from './demo/demo-spa.js';
import { MetricsListener } from './metrics/metrics-listener.js';
import { readyMessage } from './ready-message.js';

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
  // The app's own logger (log-output.ts): an uncaught exception or unhandled rejection is logged at
  // fatal, the log buffer flushed, and the process exits 1. SIGTERM/SIGINT: Nest's shutdown hooks close
  // the app, whose logging module flushes the buffer.
  installFatalHandlers(await rootLogger(env));
  let emulatorUrl: string | undefined;
  if (env.MYDEX_ISSUER === undefined) {
    // No Mydex settings: run the local emulator beside the BFF with the same credentials.
    const { startEmulator } = await import('../emulator/emulator.js');
    const emulator = await startEmulator({ port: env.EMULATOR_PORT });
    process.stdout.write(
      `No MYDEX_ISSUER set: started the local Mydex emulator at ${emulator.url} (issuer ${emulator.issuer}). ` +
        'Set MYDEX_* variables to talk to real Mydex.\n',
    );
    emulatorUrl = emulator.url;
  }
  const app = await createApp();
  // Also starts the METRICS_PORT listener, if configured (src/metrics/metrics-listener.ts); app.close() ends both.
  await app.listen({ port: env.PORT, host: '0.0.0.0' });
  const metrics = app.get(MetricsListener).address();
  // Start-up log lines first, then the addresses to open (`npm start`; one line in production).
  await flushLogs();
  process.stdout.write(
    readyMessage({
      publicBaseUrl: env.PUBLIC_BASE_URL,
      port: env.PORT,
      production: env.NODE_ENV === 'production',
      demo: demoSpaEnabled(env),
      apiDocs: apiDocsEnabled(env),
      emulatorUrl,
      metricsUrl: metrics === undefined ? undefined : `http://${metrics.address}:${metrics.port}/metrics`,
    }),
  );
}

void main();
