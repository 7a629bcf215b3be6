/**
 * The module specs (`src/**\/*.module.spec.ts`) import their test functions from 'vitest', like every
 * spec here. Under Jest (`npm run test:jest`), jest.config.mjs maps the module name 'vitest' to this
 * file, so the same specs get Jest's own functions, and `vi` is Jest's `jest` object. Only what both
 * runners have with the same meaning is exported: a spec that needs more (vi.mocked, vi.stubEnv,
 * jest.unstable_mockModule…) is not a module spec that both run.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, jest, test } from '@jest/globals';

export { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, test };

/** `vi.fn`, `vi.spyOn`, `vi.useFakeTimers`, `vi.setSystemTime`, `vi.clearAllMocks`… are Jest's. */
export const vi = jest;
