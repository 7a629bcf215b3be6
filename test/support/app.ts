import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { createApp, type CreateAppOptions } from '../../src/app.factory.js';
import { freshDatabase, type DatabaseTarget } from './database.js';

export interface TestApp {
  app: NestFastifyApplication;
  /** http://127.0.0.1:<port> of the listening BFF, for supertest or fetch. */
  url: string;
  database: DatabaseTarget;
  close(): Promise<void>;
}

/**
 * Starts the real BFF (same factory as production) on a random loopback port with a fresh database.
 * `env` overrides variables for this app only; they are restored on close. `options.port` fixes the
 * port (for a PUBLIC_BASE_URL known in advance); `options.database` shares another app's database
 * (several instances), which this app then does not drop. `options.quiet: false` attaches the
 * production logger (for suites that capture what it writes). `options.imports` adds modules beside the
 * BFF's own (domain event subscribers).
 */
export async function startTestApp(
  env: Record<string, string | undefined> = {},
  engine: 'sqlite' | 'postgres' = 'sqlite',
  options: { port?: number; database?: DatabaseTarget; quiet?: boolean; imports?: CreateAppOptions['imports'] } = {},
): Promise<TestApp> {
  const database = options.database ?? (await freshDatabase(engine));
  const dropDatabase = options.database ? async () => undefined : () => database.drop();
  const saved: Record<string, string | undefined> = {};
  const all = { NODE_ENV: 'test', LOG_LEVEL: 'silent', RATE_LIMITS: 'off', DATABASE_URL: database.url, ...env };
  for (const [name, value] of Object.entries(all)) {
    saved[name] = process.env[name];
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  const restore = () => {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  };
  try {
    const app = await createApp({ quiet: options.quiet ?? true, imports: options.imports });
    await app.listen({ port: options.port ?? 0, host: '127.0.0.1' });
    const address = app.getHttpServer().address();
    const port = typeof address === 'object' && address ? address.port : 0;
    return {
      app,
      url: `http://127.0.0.1:${port}`,
      database,
      close: async () => {
        await app.close();
        restore();
        await dropDatabase();
      },
    };
  } catch (error) {
    restore();
    await dropDatabase();
    throw error;
  }
}
