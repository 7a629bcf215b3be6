import { createHash, timingSafeEqual } from 'node:crypto';
import { Controller, Get, Header, Inject, Req } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { ApiExcludeController, ApiOperation } from '@nestjs/swagger';
import type { FastifyRequest } from 'fastify';
import { Public } from '../common/auth/route-access.decorator.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { exposureConfig } from '../config/exposure.config.js';
import { MetricsService } from './metrics.service.js';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';

const sha256 = (value: string) => createHash('sha256').update(value, 'utf8').digest();

/** Constant-time comparison of a presented bearer token with the configured one (hashes of equal length). */
export function bearerMatches(authorization: string | undefined, token: string): boolean {
  const match = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization ?? '');
  return timingSafeEqual(sha256(match?.[1] ?? ''), sha256(token)) && match !== null;
}

/**
 * Prometheus scrape endpoint on the main port. Public in development and test; with METRICS_TOKEN
 * only for `Authorization: Bearer <token>`; in production without a token it does not exist (404):
 * scrape the METRICS_PORT listener instead (src/metrics/metrics-listener.ts, docs/operations.md).
 */
@ApiExcludeController()
@Public()
@SkipRateLimit('operators only: restricted by METRICS_TOKEN or the proxy (docs/operations.md)')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly metrics: MetricsService,
    @Inject(exposureConfig.KEY) private readonly exposure: ConfigType<typeof exposureConfig>,
  ) {}

  @Get()
  @ApiOperation({ operationId: 'getMetrics' })
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @Header('cache-control', 'no-store')
  scrape(@Req() request: FastifyRequest): Promise<string> {
    const { mainPortMetrics, metricsToken } = this.exposure;
    if (mainPortMetrics === 'off') {
      throw new ProblemException('not_found', `No route for ${request.method} /metrics.`);
    }
    if (mainPortMetrics === 'token' && !bearerMatches(request.headers.authorization, metricsToken ?? '')) {
      throw new ProblemException('unauthorized', 'GET /metrics needs Authorization: Bearer <METRICS_TOKEN>.', {
        headers: { 'www-authenticate': 'Bearer realm="metrics"' },
      });
    }
    return this.metrics.render();
  }
}
