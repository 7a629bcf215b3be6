/**
 * `npm run test:jest`: the module specs (src/**\/*.module.spec.ts) under Jest 30, in Jest's ESM mode
 * (node --experimental-vm-modules), compiled by @swc/jest with the options unplugin-swc uses for
 * vitest (legacy decorators with metadata, class names kept, ES2023). vitest stays the project's
 * runner (npm test); this run shows the module specs a team copies also run under Jest. Why ESM mode
 * and what does not load: docs/decisions.md, "Jest for the module specs".
 */
export default {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/src/**/*.module.spec.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {
    // The specs import describe/it/expect/vi from 'vitest'; under Jest they get Jest's (test/jest/vitest-on-jest.ts).
    '^vitest$': '<rootDir>/test/jest/vitest-on-jest.ts',
    // Our sources import './x.js' (TypeScript's nodenext style); the file on disk is x.ts.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  // @nestjs/throttler is CommonJS and require()s @nestjs/common and @nestjs/core, which are ES modules.
  // Jest can load an ES module through require() only on Node 24.9+; on Node 20 it takes the CommonJS
  // path, so these two are compiled to CommonJS for that path (decisions.md, "Jest for the module specs").
  transformIgnorePatterns: ['/node_modules/(?!@nestjs/(common|core)/)'],
  transform: {
    '/node_modules/@nestjs/(common|core)/.+\\.js$': [
      '@swc/jest',
      { jsc: { parser: { syntax: 'ecmascript' }, target: 'es2023', keepClassNames: true } },
    ],
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: {
          parser: { syntax: 'typescript', decorators: true },
          transform: { legacyDecorator: true, decoratorMetadata: true },
          keepClassNames: true,
          target: 'es2023',
        },
      },
    ],
  },
  setupFiles: ['reflect-metadata'],
  testTimeout: 30_000,
};
