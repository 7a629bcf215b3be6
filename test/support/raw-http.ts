import { Agent, request } from 'node:http';

/**
 * A plain HTTP/1.1 client with keep-alive for the fuzz and fault suites. Unlike fetch it adds no
 * headers of its own (fetch would set a text/plain content type on a string body) and sends any
 * method, path and header the test chooses.
 */

export interface RawRequest {
  method: string;
  /** Path and query as sent on the request line. */
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export const keepAliveAgent = new Agent({ keepAlive: true, maxSockets: 16 });

export function sendRaw(baseUrl: string, input: RawRequest, agent: Agent = keepAliveAgent, timeoutMs = 15_000): Promise<RawResponse> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...input.headers };
    if (input.body !== undefined) headers['content-length'] = String(input.body.length);
    const req = request(
      { agent, host: url.hostname, port: url.port, method: input.method, path: input.path, headers, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(input.body);
  });
}
