import { createServer } from 'node:net';

/**
 * A loopback port free right now, for a server whose URL must be known before it starts (the
 * emulator must know the BFF's callback URL, and the BFF the emulator's). Used by tests and the bench.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
