import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REGISTRATION_STRATEGIES } from './registration-strategy.js';
import { OidcRegistrationStrategy } from './strategies/oidc/oidc-registration.strategy.js';

// That every name has exactly one strategy is checked at start-up by RegistrationStrategies
// (registration-strategies.spec.ts, and the registration module spec on the real module).
describe('the registration strategies are named once', () => {
  it("openapi.yaml's strategy enum is the list (generated from it)", () => {
    const doc = parse(readFileSync(join(import.meta.dirname, '..', '..', 'openapi.yaml'), 'utf8')) as {
      components: { schemas: Record<string, { properties?: Record<string, { enum?: string[] }> }> };
    };
    const enums = Object.values(doc.components.schemas)
      .map((schema) => schema.properties?.strategy?.enum)
      .filter((values): values is string[] => values !== undefined);
    expect(enums.length).toBeGreaterThan(0);
    for (const values of enums) expect(values).toEqual([...REGISTRATION_STRATEGIES]);
  });

  it('the OIDC strategy starts a registration at Mydex with action=register, pre-filling the email when given', async () => {
    const oidc = new OidcRegistrationStrategy(
      ...([undefined, undefined] as unknown as ConstructorParameters<typeof OidcRegistrationStrategy>),
    );
    expect(await oidc.start({})).toEqual({ action: 'register' });
    expect(await oidc.start({ email: 'ünï@bücher.de' })).toEqual({ action: 'register', email: 'ünï@bücher.de' });
  });
});
