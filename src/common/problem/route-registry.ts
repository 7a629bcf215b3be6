import type { FastifyInstance } from 'fastify';

/**
 * Remembers every registered route so an unmatched request can be told apart: unknown path (404) or
 * known path with another method (405 with Allow). Fastify itself answers 404 for both.
 */
export class RouteRegistry {
  private readonly routes: { pattern: RegExp; methods: Set<string> }[] = [];

  attach(fastify: FastifyInstance): void {
    fastify.addHook('onRoute', (route) => {
      // CORS preflight routes (OPTIONS *) say nothing about which methods a path serves.
      const methods = (Array.isArray(route.method) ? route.method : [route.method]).filter((method) => method !== 'OPTIONS');
      if (methods.length === 0) return;
      const source = route.url
        .split('/')
        .map((part) => (part.startsWith(':') ? '[^/]+' : part === '*' ? '.*' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
        .join('/');
      const pattern = new RegExp(`^${source}/?$`);
      const existing = this.routes.find((entry) => entry.pattern.source === pattern.source);
      if (existing) methods.forEach((method) => existing.methods.add(method));
      else this.routes.push({ pattern, methods: new Set(methods) });
    });
  }

  /** Methods allowed on a concrete path, empty when no route matches it. */
  allowedMethods(path: string): string[] {
    const pathname = path.split('?')[0] ?? path;
    const allowed = new Set<string>();
    for (const route of this.routes) {
      if (route.pattern.test(pathname)) route.methods.forEach((method) => allowed.add(method));
    }
    return [...allowed].sort();
  }
}
