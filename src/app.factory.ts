import fastifyCookie from '@fastify/cookie';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { ModuleMetadata } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module.js';
import { registerCallbackFormParser } from './connection/callback-form.js';
import { frameworkErrorProblem, rewriteNonProblemErrors } from './common/problem/framework-errors.js';
import { RouteRegistry } from './common/problem/route-registry.js';
import { problemTypeBaseFor, setProblemTypeBase } from './common/problem/problem-details.js';
import { requestIdFor } from './common/request-id.js';
import { splitList, validateEnvironment } from './config/environment.js';
import { applyBrowserSafety, securityHeaders } from './common/http/browser-safety.js';
import { clientErrorProblem } from './common/http/client-errors.js';
import { installLingeringClose } from './common/http/lingering-close.js';
import { DEFAULT_BODY_LIMITS, installBodyLimits } from './common/http/json-body.js';
import { queryLimitProblem } from './common/http/query-limits.js';
import { mountOpenApi } from './openapi/openapi.js';
import { mountDemoSpa } from './demo/demo-spa.js';

export interface CreateAppOptions {
  /** Keep Nest's own start-up logs quiet (tests, the OpenAPI generator). */
  quiet?: boolean;
  /** Modules imported beside the BFF's own (AppModule.forRoot): tests add domain event subscribers this way. */
  imports?: NonNullable<ModuleMetadata['imports']>;
}

/**
 * Builds the BFF exactly as production runs it: used by main.ts, every HTTP test and the OpenAPI
 * generator, so there is one pipeline to test.
 */
export async function createApp(options: CreateAppOptions = {}): Promise<NestFastifyApplication> {
  const env = validateEnvironment(process.env);
  // Every problem's `type` URL: {PUBLIC_BASE_URL}/errors/{code} unless PROBLEM_TYPE_BASE_URL says otherwise.
  setProblemTypeBase(problemTypeBaseFor(env));
  const trusted = splitList(env.TRUSTED_PROXIES);
  const adapter = new FastifyAdapter({
    // The default for every route and for unrouted requests; a route raises its own with @BodyLimits
    // (only the Mydex callback does: src/common/http/json-body.ts).
    bodyLimit: DEFAULT_BODY_LIMITS.bytes,
    genReqId: requestIdFor,
    trustProxy: trusted.length > 0 ? trusted : false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    return503OnClosing: true,
    // The router's own refusals (bad percent-encoding, over-long parameter) as problem+json.
    frameworkErrors: frameworkErrorProblem,
    // Node's own refusals (headers too large, a malformed request, a timeout) as problem+json.
    clientErrorHandler: clientErrorProblem,
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(options.imports), adapter, {
    bufferLogs: true,
    abortOnError: false,
    logger: options.quiet ? false : undefined,
  });
  const fastify = app.getHttpAdapter().getInstance();
  app.get(RouteRegistry).attach(fastify);
  // A refused, unread body gets its answer instead of a TCP reset (src/common/http/lingering-close.ts).
  installLingeringClose(fastify.server);
  // Per-route body limits and the JSON parser that enforces keys, depth and Unicode before any DTO work.
  installBodyLimits(app);
  // One onRequest hook for what every request gets (one hook run instead of three): the query-string
  // limit (414 before routing work), our request id and the security headers, computed once.
  const headers = securityHeaders();
  fastify.addHook('onRequest', (request, reply, done) => {
    const refused = queryLimitProblem(request.url);
    if (refused) return done(refused);
    void reply.header('x-request-id', request.id).headers(headers);
    done();
  });
  rewriteNonProblemErrors(fastify);
  // Only JSON bodies by default: a text/plain body to a JSON route is 415, not a string DTO.
  fastify.removeContentTypeParser(['text/plain']);
  // Form bodies only where a route asks for them (Mydex's connection callback); elsewhere 415.
  registerCallbackFormParser(app);
  // Session and OIDC transaction cookies (src/session/session-cookies.ts).
  await app.register(fastifyCookie);
  await applyBrowserSafety(
    app,
    splitList(env.FRONTEND_ORIGINS).map((origin) => new URL(origin).origin),
  );
  if (!options.quiet) app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  mountOpenApi(app);
  await mountDemoSpa(app, env);
  return app;
}
