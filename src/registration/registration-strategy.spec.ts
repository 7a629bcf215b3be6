import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REGISTRATION_STRATEGIES, type RegistrationStrategy } from './registration-strategy.js';
import { OidcRegistrationStrategy } from './strategies/oidc/oidc-registration.strategy.js';
import { OwnFormRegistrationStrategy } from './strategies/own-form/own-form-registration.strategy.js';

/** The strategies the app provides (RegistrationModule), built without their collaborators: only their names are read. */
const provided: RegistrationStrategy[] = [
  new OwnFormRegistrationStrategy(...([undefined, undefined, undefined, undefined, undefined] as unknown as ConstructorParameters<typeof OwnFormRegistrationStrategy>)),
  new OidcRegistrationStrategy(...([undefined, undefined] as unknown as ConstructorParameters<typeof OidcRegistrationStrategy>)),
];

describe('the registration strategies are named once', () => {
  it('every name in REGISTRATION_STRATEGIES has exactly one strategy, and no strategy is unnamed there', () => {
    expect(provided.map((strategy) => strategy.name).sort()).toEqual([...REGISTRATION_STRATEGIES].sort());
  });

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
    const oidc = provided[1] as OidcRegistrationStrategy;
    expect(await oidc.start({})).toEqual({ action: 'register' });
    expect(await oidc.start({ email: 'ünï@bücher.de' })).toEqual({ action: 'register', email: 'ünï@bücher.de' });
  });
});
