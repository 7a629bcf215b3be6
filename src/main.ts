import { createApp } from './app.factory.js';
import { validateEnvironment, EnvironmentError } from './config/environment.js';

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
  const app = await createApp();
  await app.listen({ port: env.PORT, host: '0.0.0.0' });
  process.stdout.write(`Mydex BFF listening on ${env.PUBLIC_BASE_URL} (port ${env.PORT})\n`);
}

void main();
