import { Inject, Injectable, Module, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { LoggerModule } from 'nestjs-pino';
import type { Logger as PinoInstance } from 'pino';
import { validateEnvironment } from '../../config/environment.js';
import type { RawRequestWithIds } from '../request-id.js';
import { flushLogs, rootLogger } from './log-output.js';
import { redactUrl } from './redact.js';

/** The app's redacting pino instance (log-output.ts: one per process, level and format). */
export const ROOT_LOGGER = Symbol('ROOT_LOGGER');

/**
 * One line per request, written from a Fastify onResponse hook: our request id, the client's
 * X-Request-Id (sanitised, as `clientRequestId`), method, redacted URL, status and time; no other
 * headers and no bodies. (pino-http as Nest middleware cost 20–40 µs per request
 * through middie even when nothing was written; see docs/benchmark.md.)
 *
 * The line is one `info` (or `error`) call on a logger made once at start-up: no child logger per
 * request (test/logging.e2e-spec.ts counts them). Every field is ours and the URL is redacted with
 * redactUrl, so this logger skips the generic redact() walk the root logger applies to every other
 * log object; the line is the same as the root logger would write.
 */
@Injectable()
class RequestLogHook implements OnModuleInit, OnApplicationShutdown {
  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Inject(ROOT_LOGGER) private readonly logger: PinoInstance,
  ) {}

  onModuleInit(): void {
    const logger = this.logger.child({}, { formatters: { log: (object: object) => object } });
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

  /** After the server closed (every request line written to the buffer): write the buffer out. */
  async onApplicationShutdown(): Promise<void> {
    await flushLogs();
  }
}

/** The one redacting pino instance of the app. */
@Module({
  providers: [{ provide: ROOT_LOGGER, useFactory: () => rootLogger(validateEnvironment(process.env)) }],
  exports: [ROOT_LOGGER],
})
class RootLoggerModule {}

/**
 * Logs through pino (JSON, or pretty in development on a terminal: log-output.ts): Nest's own logger
 * (nestjs-pino's Logger, used by app.useLogger) and the request lines write through the same redacting
 * pino instance and destination.
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
