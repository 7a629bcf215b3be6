import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { EnvironmentVariables } from '../config/environment.js';

/** The demo frontend's folder, relative to the project root (the same in the source tree, dist and the image). */
const SPA_FOLDER = join('examples', 'spa');

/**
 * Whether the demo SPA is served at `/`: always in development and test, in production only with
 * DEMO_SPA=on. An explicit DEMO_SPA=off turns it off everywhere.
 */
export function demoSpaEnabled(env: Pick<EnvironmentVariables, 'NODE_ENV' | 'DEMO_SPA'>): boolean {
  if (env.DEMO_SPA !== undefined) return env.DEMO_SPA === 'on';
  return env.NODE_ENV !== 'production';
}

/**
 * Finds examples/spa by walking up from this file: it runs from src/demo (tests), dist/src/demo
 * (`npm start`, the Docker image) and the project root is a different number of levels up in each.
 */
export function findDemoSpaRoot(from: string = import.meta.dirname): string | undefined {
  let directory = from;
  for (;;) {
    const candidate = join(directory, SPA_FOLDER);
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const parent = dirname(directory);
    if (parent === directory) return undefined;
    directory = parent;
  }
}

/**
 * Serves the demo SPA (examples/spa) at `/` when enabled. Only the files present at start-up get a
 * route (`wildcard: false`), so every other path still reaches the problem+json 404/405 handling.
 * The pages are covered by the BFF's Content-Security-Policy like every response.
 */
export async function mountDemoSpa(app: NestFastifyApplication, env: Pick<EnvironmentVariables, 'NODE_ENV' | 'DEMO_SPA'>): Promise<boolean> {
  if (!demoSpaEnabled(env)) return false;
  const root = findDemoSpaRoot();
  if (root === undefined) throw new Error(`DEMO_SPA is on but ${SPA_FOLDER}/index.html was not found above ${import.meta.dirname}`);
  await app.register(fastifyStatic, {
    root,
    prefix: '/',
    wildcard: false,
    index: ['index.html'],
    // Swagger UI registers @fastify/static too; only one may decorate the reply.
    decorateReply: false,
    serveDotFiles: false,
    // A demo changes with the code: let browsers revalidate instead of caching stale scripts.
    cacheControl: false,
    setHeaders: (reply) => void reply.header('cache-control', 'no-cache'),
  });
  return true;
}
