import { Controller, Get, Post } from '@nestjs/common';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { RequestMethod } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Public, ROUTE_ACCESS } from '../src/common/auth/route-access.decorator.js';
import { ROUTES_OUTSIDE_NEST } from '../src/rate-limit/outside-nest.js';
import { RATE_LIMIT, RateLimit, type RateLimitDecision } from '../src/rate-limit/rate-limit.decorator.js';
import { RATE_LIMIT_GROUP_BY_NAME } from '../src/rate-limit/rate-limit.groups.js';
import { startTestApp, type TestApp } from './support/app.js';

interface AuditedRoute {
  name: string;
  /** Fastify-style path, e.g. /v1/registrations/:id */
  path: string;
  access: unknown;
  rateLimit: RateLimitDecision | undefined;
}

const joinPath = (...parts: (string | undefined)[]) =>
  `/${parts
    .flatMap((part) => (part ?? '').split('/'))
    .filter((segment) => segment !== '')
    .join('/')}`;

/** Every handler of the given controller classes, with its declared access and rate-limit decision. */
function routesOf(
  controllers: { metatype: abstract new (...args: never[]) => unknown; prototype: Record<string, unknown> }[],
  scanner: MetadataScanner,
  reflector: Reflector,
): AuditedRoute[] {
  const routes: AuditedRoute[] = [];
  for (const { metatype, prototype } of controllers) {
    for (const name of scanner.getAllMethodNames(prototype)) {
      const handler = prototype[name] as (...args: unknown[]) => unknown;
      if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
      const access = reflector.getAllAndMerge<string[]>(ROUTE_ACCESS, [handler, metatype]);
      const declared = [Reflect.getMetadata(ROUTE_ACCESS, handler), Reflect.getMetadata(ROUTE_ACCESS, metatype)].filter(
        (v) => v !== undefined,
      );
      routes.push({
        name: `${metatype.name}.${name} ${RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as number]}`,
        path: joinPath(Reflect.getMetadata(PATH_METADATA, metatype) as string, Reflect.getMetadata(PATH_METADATA, handler) as string),
        access: declared.length === 1 ? declared[0] : `declared ${declared.length} times (${String(access)})`,
        rateLimit: reflector.getAllAndOverride<RateLimitDecision | undefined>(RATE_LIMIT, [handler, metatype]),
      });
    }
  }
  return routes;
}

/** What is wrong with a route's rate-limit decision, or undefined. */
function rateLimitProblem(route: AuditedRoute): string | undefined {
  const decision = route.rateLimit;
  if (decision === undefined) return `${route.name} ${route.path}: no @RateLimit(group) or @SkipRateLimit(reason)`;
  if ('skip' in decision) return decision.skip.trim().length < 10 ? `${route.name}: @SkipRateLimit needs a reason` : undefined;
  const group = RATE_LIMIT_GROUP_BY_NAME.get(decision.group);
  if (!group) return `${route.name}: unknown rate-limit group ${decision.group}`;
  if (group.per === 'member' && route.access !== 'member_session')
    return `${route.name}: the per-member group ${group.name} on a route without a member session`;
  return undefined;
}

/** The Fastify routing tree as [path, methods] (printRoutes with commonPrefix off: each node adds its text to its parent's path). */
function fastifyRoutes(fastify: FastifyInstance): { path: string; methods: string[] }[] {
  const stack: string[] = [];
  const routes: { path: string; methods: string[] }[] = [];
  for (const line of fastify.printRoutes({ commonPrefix: false }).split('\n')) {
    const match = /^((?:│ {3}| {4})*)(?:├── |└── )(.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!match) continue;
    const depth = match[1]!.length / 4;
    stack.length = depth;
    const path = `${depth === 0 ? '' : stack[depth - 1]}${match[2]}`;
    stack.push(path);
    if (match[3]) routes.push({ path, methods: match[3].split(', ') });
  }
  return routes;
}

/** Every route declares one way in (public, member session, Mydex callback) and one rate-limit decision. */
describe('route audit', () => {
  let t: TestApp;
  let routes: AuditedRoute[];
  beforeAll(async () => {
    t = await startTestApp();
    const discovery = t.app.get(DiscoveryService);
    const controllers = discovery
      .getControllers()
      .filter((wrapper) => wrapper.instance && wrapper.metatype)
      .map((wrapper) => ({
        metatype: wrapper.metatype as never,
        prototype: Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>,
      }));
    routes = routesOf(controllers, t.app.get(MetadataScanner), t.app.get(Reflector));
  });
  afterAll(async () => t?.close());

  it('finds a declared access level on every route', () => {
    expect(routes.length).toBeGreaterThan(1);
    for (const { name, path, access } of routes) {
      expect(['public', 'member_session', 'mydex_callback'], `${name} ${path}`).toContain(access);
    }
  });

  it('finds a rate-limit decision (a group or a reasoned skip) on every route, per-member groups only on member routes', () => {
    expect(routes.map(rateLimitProblem).filter((problem) => problem !== undefined)).toEqual([]);
    // The limits the issue names, on the routes the router matches (not URL prefixes).
    const groupOf = (path: string) =>
      routes
        .filter((route) => route.path === path)
        .map((route) => route.rateLimit && ('group' in route.rateLimit ? route.rateLimit.group : 'skip'));
    expect(new Set(groupOf('/v1/registrations'))).toEqual(new Set(['registrations']));
    expect(new Set(groupOf('/v1/auth/session/exchange'))).toEqual(new Set(['auth']));
    expect(new Set(groupOf('/v1/validation/registration'))).toEqual(new Set(['validation']));
    expect(groupOf('/v1/connections')).toEqual(['connections']);
  });

  it('reports a public route that has no rate-limit decision (the audit itself can fail)', () => {
    @Public()
    @Controller('v1/forgotten')
    class ForgottenController {
      @Get()
      list(): void {}

      @Post()
      @RateLimit('connections')
      create(): void {}
    }
    const audited = routesOf(
      [{ metatype: ForgottenController, prototype: ForgottenController.prototype as unknown as Record<string, unknown> }],
      t.app.get(MetadataScanner),
      t.app.get(Reflector),
    );
    const problems = audited.map(rateLimitProblem).filter((problem) => problem !== undefined);
    expect(problems).toEqual([
      expect.stringContaining('ForgottenController.list GET /v1/forgotten: no @RateLimit'),
      expect.stringContaining('ForgottenController.create POST: the per-member group connections on a route without a member session'),
    ]);
  });

  it('finds every route Fastify serves either among the audited Nest routes or listed as served outside Nest, with a reason', () => {
    const fastify = t.app.getHttpAdapter().getInstance() as unknown as FastifyInstance;
    const served = fastifyRoutes(fastify).filter((route) => !(route.path === '*' && route.methods.every((method) => method === 'OPTIONS')));
    expect(served.length).toBeGreaterThan(routes.length / 2);
    const nestPaths = new Set(routes.map((route) => route.path));
    const unaccounted = served.filter(
      (route) => !nestPaths.has(route.path) && !ROUTES_OUTSIDE_NEST.some((entry) => entry.pattern.test(route.path)),
    );
    expect(unaccounted).toEqual([]);
    // And the list is not a blanket: API routes are never "outside Nest".
    expect(ROUTES_OUTSIDE_NEST.some((entry) => entry.pattern.test('/v1/registrations') || entry.pattern.test('/health/live'))).toBe(false);
  });
});
