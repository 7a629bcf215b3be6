/**
 * Production refuses plain-http URLs (PUBLIC_BASE_URL, FRONTEND_ORIGINS, MYDEX_ISSUER, MYDEX_PDX_URL
 * must be https), so the benchmark puts a TLS-terminating front before the emulator and the BFF,
 * as a deployment's load balancer would: a throwaway self-signed certificate for `localhost`
 * (made with the `openssl` command), and an https server per service forwarding to its http port
 * with `X-Forwarded-Proto: https`. Only the set-up goes through a front (discovery, the member's
 * native login); autocannon drives the BFF's own http port, so the figures measure the BFF alone.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';

export interface LocalCertificate {
  certFile: string;
  key: Buffer;
  cert: Buffer;
}

/** A self-signed certificate for localhost and 127.0.0.1, valid for two days, written under `dir`. */
export function makeLocalhostCertificate(dir: string): LocalCertificate {
  const keyFile = join(dir, 'tls-key.pem');
  const certFile = join(dir, 'tls-cert.pem');
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-days',
        '2',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
  } catch (error) {
    throw new Error(`the benchmark needs the openssl command (1.1.1 or later) for its local TLS front: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return { certFile, key: readFileSync(keyFile), cert: readFileSync(certFile) };
}

export interface TlsFront {
  /** https://localhost:<port> */
  url: string;
  close(): Promise<void>;
}

/** An https server on `port` (127.0.0.1) that forwards every request to http://127.0.0.1:<targetPort>. */
export async function startTlsFront(port: number, targetPort: number, certificate: LocalCertificate): Promise<TlsFront> {
  const server: Server = createServer({ key: certificate.key, cert: certificate.cert }, (incoming, outgoing) => {
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: incoming.method,
        path: incoming.url,
        headers: { ...incoming.headers, 'x-forwarded-proto': 'https', 'x-forwarded-host': incoming.headers.host ?? `localhost:${port}` },
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    upstream.on('error', () => {
      if (!outgoing.headersSent) outgoing.writeHead(502);
      outgoing.end();
    });
    incoming.pipe(upstream);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    url: `https://localhost:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
