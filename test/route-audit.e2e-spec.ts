import { DiscoveryService, MetadataScanner, Reflector } from '@nestjs/core';
import { PATH_METADATA, METHOD_METADATA } from '@nestjs/common/constants.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_ACCESS } from '../src/common/auth/route-access.decorator.js';
import { startTestApp, type TestApp } from './support/app.js';

/** Every route declares exactly one way in: public, member session, or the Mydex callback guard. */
describe('route audit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => t?.close());

  it('finds a declared access level on every route', () => {
    const discovery = t.app.get(DiscoveryService);
    const scanner = t.app.get(MetadataScanner);
    const reflector = t.app.get(Reflector);
    const routes: { route: string; access: unknown }[] = [];
    for (const wrapper of discovery.getControllers()) {
      const { instance, metatype } = wrapper;
      if (!instance || !metatype) continue;
      const prototype = Object.getPrototypeOf(instance);
      for (const name of scanner.getAllMethodNames(prototype)) {
        const handler = prototype[name];
        if (Reflect.getMetadata(METHOD_METADATA, handler) === undefined) continue;
        const access = reflector.getAllAndMerge<string[]>(ROUTE_ACCESS, [handler, metatype]);
        const onHandler = Reflect.getMetadata(ROUTE_ACCESS, handler);
        const onClass = Reflect.getMetadata(ROUTE_ACCESS, metatype);
        const declared = [onHandler, onClass].filter((v) => v !== undefined);
        routes.push({
          route: `${metatype.name}.${name} ${Reflect.getMetadata(PATH_METADATA, metatype)}/${Reflect.getMetadata(PATH_METADATA, handler)}`,
          access: declared.length === 1 ? declared[0] : `declared ${declared.length} times (${String(access)})`,
        });
      }
    }
    expect(routes.length).toBeGreaterThan(1);
    for (const { route, access } of routes) {
      expect(['public', 'member_session', 'mydex_callback'], route).toContain(access);
    }
  });
});
