import { Inject, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { LoggerModule } from 'nestjs-pino';
import { pino, type Logger as PinoInstance } from 'pino';
import { appConfig } from '../../config/app.config.js';
import type { RawRequestWithIds } from '../request-id.js';
import { redact, redactUrl } from './redact.js';

const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/** Every log object passes through redact(): a secret logged by mistake anywhere is censored on the way out. */
function createRootLogger(level: string): PinoInstance {
  return pino({
    level,
    formatters: { log: (object: Record<string, unknown>) => redact(object) as Record<string, unknown> },
  });
}

/**
 * One line per request, written from a Fastify onResponse hook: our request id, the client's
 * X-Request-Id (sanitised, as `clientRequestId`), method, redacted URL, status and time; no other
 * headers and no bodies. (pino-http as Nest middleware cost 20–40 µs per request
 * through middie even when nothing was written; see docs/benchmark.md.)
 */
@Injectable()
class RequestLogHook implements OnModuleInit {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(ROOT_LOGGER) private readonly logger: PinoInstance,
  ) {}

  onModuleInit(): void {
    const logger = this.logger;
    this.adapterHost.httpAdapter.getInstance<FastifyInstance>().addHook('onResponse', (request, reply, done) => {
      const status = reply.statusCode;
      const level = status >= 500 ? 'error' : 'info';
      if (logger.isLevelEnabled(level) && !(status < 400 && request.url.startsWith('/health/'))) {
        const clientRequestId = (request.raw as RawRequestWithIds).clientRequestId;
        logger[level](
          {
            requestId: request.id,
            ...(clientRequestId === undefined ? {} : { clientRequestId }),
            req: { method: request.method, url: redactUrl(request.url) },
            res: { statusCode: status },
            responseTime: Math.round(reply.elapsedTime * 10) / 10,
          },
          'request completed',
        );
      }
      done();
    });
  }
}

/** The one redacting pino instance of the app. */
@Module({
  providers: [
    { provide: ROOT_LOGGER, inject: [appConfig.KEY], useFactory: (app: ConfigType<typeof appConfig>) => createRootLogger(app.logLevel) },
  ],
  exports: [ROOT_LOGGER],
})
class RootLoggerModule {}

/**
 * JSON logs through pino: Nest's own logger (nestjs-pino's Logger, used by app.useLogger) and the
 * request lines write through the same redacting pino instance.
 */
@Module({
  imports: [
    RootLoggerModule,
    LoggerModule.forRootAsync({
      imports: [RootLoggerModule],
      inject: [ROOT_LOGGER],
      useFactory: (logger: PinoInstance) => ({
        pinoHttp: { logger, quietReqLogger: true, autoLogging: false },
        // No per-request middleware: request lines come from RequestLogHook.
        forRoutes: [],
      }),
    }),
  ],
  providers: [RequestLogHook],
})
export class LoggingModule {}
