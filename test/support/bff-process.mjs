// Runs the BFF from a private build (test/support/node-build.ts) in its own process, for suites that
// kill it. Usage: node bff-process.mjs <compiled app.factory.js>. Configuration comes from the
// environment as in production; prints one line `listening <url>` when it serves.
import 'reflect-metadata';
import { pathToFileURL } from 'node:url';

const { createApp } = await import(pathToFileURL(process.argv[2]).href);
const app = await createApp({ quiet: true });
await app.listen({ port: Number(process.env.PORT ?? 0), host: '127.0.0.1' });
const address = app.getHttpServer().address();
process.stdout.write(`listening http://127.0.0.1:${address.port}\n`);
