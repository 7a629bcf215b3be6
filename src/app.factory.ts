import fastifyCookie from '@fastify/cookie';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { registerCallbackFormParser } from './connection/callback-form.js';
import { frameworkErrorProblem, rewriteNonProblemErrors } from './common/problem/framework-errors.js';
import { RouteRegistry } from './common/problem/route-registry.js';
import { requestIdFor } from './common/request-id.js';
import { splitList, validateEnvironment } from './config/environment.js';
import { applyBrowserSafety } from './common/http/browser-safety.js';
import { mountOpenApi } from './openapi/openapi.js';
import { mountDemoSpa } from './demo/demo-spa.js';

/** 1 MiB: the largest body any endpoint accepts (the Mydex callback is the biggest). */
export const BODY_LIMIT = 1024 * 1024;

export interface CreateAppOptions {
  /** Keep Nest's own start-up logs quiet (tests, the OpenAPI generator). */
  quiet?: boolean;
}

/**
 * Builds the BFF exactly as production runs it: used by main.ts, every HTTP test and the OpenAPI
 * generator, so there is one pipeline to test.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const env = validateEnvironment(process.env);
  const trusted = splitList(env.TRUSTED_PROXIES);
  const adapter = new FastifyAdapter({
    bodyLimit: BODY_LIMIT,
    genReqId: requestIdFor,
    trustProxy: trusted.length > 0 ? trusted : false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    return503OnClosing: true,
    // The router's own refusals (bad percent-encoding, over-long parameter) as problem+json.
    frameworkErrors: frameworkErrorProblem,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(), adapter, {
    bufferLogs: true,
    abortOnError: false,
    logger: options.quiet ? false : undefined,
  });
  const fastify = app.getHttpAdapter().getInstance();
  app.get(RouteRegistry).attach(fastify);
  fastify.addHook('onRequest', (request, reply, done) => {
    void reply.header('x-request-id', request.id);
    done();
  });
  rewriteNonProblemErrors(fastify);
  // Only JSON bodies by default: a text/plain body to a JSON route is 415, not a string DTO.
  fastify.removeContentTypeParser(['text/plain']);
  // Form bodies only where a route asks for them (Mydex's connection callback); elsewhere 415.
  registerCallbackFormParser(app);
  // Session and OIDC transaction cookies (src/session/session-cookies.ts).
  await app.register(fastifyCookie);
  await applyBrowserSafety(app, splitList(env.FRONTEND_ORIGINS).map((origin) => new URL(origin).origin));
  if (!options.quiet) app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  mountOpenApi(app);
  await mountDemoSpa(app, env);
  return app;
}
