import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Inject, Injectable, Logger, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { ErrorCode } from '../common/problem/error-codes.js';
import { PROBLEM_CONTENT_TYPE, problemBody } from '../common/problem/problem-details.js';
import { exposureConfig } from '../config/exposure.config.js';
import { MetricsService } from './metrics.service.js';

/**
 * The separate metrics listener (METRICS_PORT on METRICS_HOST, default 127.0.0.1): a bare
 * node:http server that answers `GET /metrics` (and HEAD) without a token, and problem+json 404/405
 * to anything else. It is meant for an internal interface that only the scraper reaches; it starts
 * with the app (app.init / app.listen) and closes with it (app.close), open connections included.
 */
@Injectable()
export class MetricsListener implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('MetricsListener');
  private server?: Server;

  constructor(
    private readonly metrics: MetricsService,
    @Inject(exposureConfig.KEY) private readonly exposure: ConfigType<typeof exposureConfig>,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    const listener = this.exposure.metricsListener;
    if (listener === undefined) return;
    const server = createServer({ requestTimeout: 10_000, headersTimeout: 5_000 }, (request, response) => {
      void this.answer(request, response);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(listener.port, listener.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = this.address();
    this.logger.log(`metrics listener on http://${address?.address}:${address?.port}/metrics`);
  }

  /** Where the listener is bound (its port when METRICS_PORT=0), or undefined when there is none. */
  address(): AddressInfo | undefined {
    const address = this.server?.address();
    return typeof address === 'object' && address !== null ? address : undefined;
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (path !== '/metrics') return problem(response, 'not_found', `No route for ${request.method} ${path}.`);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return problem(response, 'method_not_allowed', `${request.method} is not allowed on /metrics.`);
    }
    try {
      const text = await this.metrics.render();
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
      response.end(request.method === 'HEAD' ? undefined : text);
    } catch (error) {
      this.logger.error({ err: error }, 'could not render the metrics');
      problem(response, 'internal_error', 'The metrics could not be rendered.');
    }
  }
}

function problem(response: ServerResponse, code: ErrorCode, detail: string): void {
  const body = problemBody(code, detail, randomUUID());
  response.writeHead(body.status, { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', 'x-request-id': body.requestId });
  response.end(JSON.stringify(body));
}
