import { describe, expect, it } from 'vitest';
import { indexStrategies, type ClaimedStrategy } from './registration-strategies.js';
import type { RegistrationStrategy, RegistrationStrategyName } from './registration-strategy.js';
import { REGISTRATION_STRATEGIES } from './registration-strategy.js';

/** A strategy that only has a name (the registry reads nothing else). */
function strategy(name: string, className = `Strategy_${name}`): RegistrationStrategy {
  const Named = { [className]: class {} }[className]!;
  return Object.assign(new Named(), {
    name,
    start: () => Promise.resolve(),
    complete: () => Promise.resolve(),
  }) as unknown as RegistrationStrategy;
}

const claim = (claimed: string, instance = strategy(claimed)): ClaimedStrategy => ({
  claimed: claimed as RegistrationStrategyName,
  strategy: instance,
});
const everyName = (): ClaimedStrategy[] => REGISTRATION_STRATEGIES.map((name) => claim(name));

describe('indexStrategies (the registry start-up check)', () => {
  it('indexes one strategy per name of REGISTRATION_STRATEGIES', () => {
    const found = everyName();
    const byName = indexStrategies(found);
    expect([...byName.keys()].sort()).toEqual([...REGISTRATION_STRATEGIES].sort());
    for (const { claimed, strategy: instance } of found) expect(byName.get(claimed)).toBe(instance);
  });

  it('refuses a name of the list that no provider claims, naming it', () => {
    const [missing, ...rest] = REGISTRATION_STRATEGIES;
    expect(() => indexStrategies(rest.map((name) => claim(name)))).toThrow(`no provider is @RegistrationStrategyFor('${missing}')`);
  });

  it('refuses two strategies claiming one name, naming both classes', () => {
    const twice = claim(REGISTRATION_STRATEGIES[0], strategy(REGISTRATION_STRATEGIES[0], 'SecondClaimant'));
    expect(() => indexStrategies([...everyName(), twice])).toThrow(/is claimed by both Strategy_\w+ and SecondClaimant/);
  });

  it("refuses a claim outside the list and a claim that differs from the strategy's own name", () => {
    expect(() => indexStrategies([...everyName(), claim('carrier_pigeon')])).toThrow(
      'claims "carrier_pigeon", which is not in REGISTRATION_STRATEGIES',
    );
    const mismatched = { claimed: REGISTRATION_STRATEGIES[0], strategy: strategy('other', 'Mislabelled') };
    expect(() => indexStrategies([mismatched, ...everyName().slice(1)])).toThrow(
      `Mislabelled claims "${REGISTRATION_STRATEGIES[0]}" but its name is "other"`,
    );
  });
});
