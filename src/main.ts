import { createApp } from './app.factory.js';
import { EnvironmentError, validateEnvironment } from './config/environment.js';
import { apiDocsEnabled } from './config/exposure.config.js';
import { MetricsListener } from './metrics/metrics-listener.js';

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
  // Also starts the METRICS_PORT listener, if configured (src/metrics/metrics-listener.ts); app.close() ends both.
  await app.listen({ port: env.PORT, host: '0.0.0.0' });
  const docs = apiDocsEnabled(env) ? `; API docs at ${env.PUBLIC_BASE_URL}/docs` : '';
  const metrics = app.get(MetricsListener).address();
  const metricsAt = metrics === undefined ? '' : `; metrics at http://${metrics.address}:${metrics.port}/metrics`;
  process.stdout.write(`Mydex BFF listening on ${env.PUBLIC_BASE_URL} (port ${env.PORT})${docs}${metricsAt}\n`);
}

void main();
