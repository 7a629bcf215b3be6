import { createHmac } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request a test receiver got. */
export interface ReceivedWebhook {
  headers: IncomingHttpHeaders;
  body: string;
  /** Date.now() when its body had arrived. */
  at: number;
}

/** What the receiver answers to its n-th request (0-based): a status, or 'hang' (never answers). */
export type Answer = (request: ReceivedWebhook, n: number) => number | 'hang' | Promise<number | 'hang'>;

export interface WebhookReceiver {
  url: string;
  received: ReceivedWebhook[];
  close(): Promise<void>;
}

/** A real HTTP receiver on a loopback port that records every request and answers as told. */
export async function startReceiver(answer: Answer = () => 200): Promise<WebhookReceiver> {
  const received: ReceivedWebhook[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const entry: ReceivedWebhook = { headers: request.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() };
      const n = received.push(entry) - 1;
      void Promise.resolve(answer(entry, n)).then((status) => {
        if (status === 'hang') hanging.push(response);
        else response.writeHead(status).end();
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/bff`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const response of hanging) response.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * The test's own Standard Webhooks check, written from the specification, not from src/webhooks:
 * base64 HMAC-SHA256 over `${webhook-id}.${webhook-timestamp}.${body}` with the base64 key after
 * `whsec_`, matched against any `v1,` entry of the space-separated `webhook-signature`.
 */
export function verifiesWith(secret: string, request: ReceivedWebhook): boolean {
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const signed = `${String(request.headers['webhook-id'])}.${String(request.headers['webhook-timestamp'])}.${request.body}`;
  const expected = `v1,${createHmac('sha256', key).update(signed).digest('base64')}`;
  return String(request.headers['webhook-signature'] ?? '')
    .split(' ')
    .includes(expected);
}

/** Waits until `condition` holds (polling), or fails after `ms` with `what`. */
export async function waitFor(what: string, condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
