import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import type { EventOrigin } from '../events/domain-events.js';
import type { Registration } from './registration.entity.js';
import { REGISTRATION_STRATEGIES, type RegistrationStrategy, type RegistrationStrategyName } from './registration-strategy.js';

/**
 * Marks a provider as the strategy for one name of REGISTRATION_STRATEGIES, so the registry finds it
 * without a hand-kept list: a new strategy is its class, this decorator, and a line in a module's
 * providers.
 */
export const RegistrationStrategyFor = DiscoveryService.createDecorator<RegistrationStrategyName>();

/** A provider found under the decorator: the name it claims and its instance. */
export interface ClaimedStrategy {
  claimed: RegistrationStrategyName;
  strategy: RegistrationStrategy;
}

/**
 * The strategies by name, or an Error naming every problem: a name of REGISTRATION_STRATEGIES that no
 * provider claims, a name claimed twice, a name that is not in the list, or a provider whose `name`
 * (the one its rows and events carry) differs from the name it claims. Thrown at start-up, so a
 * half-wired strategy never serves a request.
 */
export function indexStrategies(found: readonly ClaimedStrategy[]): Map<RegistrationStrategyName, RegistrationStrategy> {
  const byName = new Map<RegistrationStrategyName, RegistrationStrategy>();
  const problems: string[] = [];
  for (const { claimed, strategy } of found) {
    const className = strategy.constructor.name;
    if (!(REGISTRATION_STRATEGIES as readonly string[]).includes(claimed))
      problems.push(`${className} claims "${claimed}", which is not in REGISTRATION_STRATEGIES`);
    else if (strategy.name !== claimed) problems.push(`${className} claims "${claimed}" but its name is "${strategy.name}"`);
    else if (byName.has(claimed))
      problems.push(`"${claimed}" is claimed by both ${byName.get(claimed)!.constructor.name} and ${className}`);
    else byName.set(claimed, strategy);
  }
  for (const name of REGISTRATION_STRATEGIES) {
    if (!byName.has(name) && !found.some(({ claimed }) => claimed === name))
      problems.push(`no provider is @RegistrationStrategyFor('${name}')`);
  }
  if (problems.length > 0) throw new Error(`Registration strategies are miswired: ${problems.join('; ')}.`);
  return byName;
}

/**
 * Every registration strategy the application provides, by name. Built from the providers marked
 * `@RegistrationStrategyFor(name)` when the module initialises; the application does not start
 * unless each name of REGISTRATION_STRATEGIES has exactly one strategy (indexStrategies).
 */
@Injectable()
export class RegistrationStrategies implements OnModuleInit {
  private byName = new Map<RegistrationStrategyName, RegistrationStrategy>();

  constructor(private readonly discovery: DiscoveryService) {}

  onModuleInit(): void {
    const found = this.discovery
      .getProviders({ metadataKey: RegistrationStrategyFor.KEY })
      .filter((wrapper) => wrapper.instance !== undefined && wrapper.instance !== null)
      .map((wrapper) => ({
        claimed: this.discovery.getMetadataByDecorator(RegistrationStrategyFor, wrapper)!,
        strategy: wrapper.instance as RegistrationStrategy,
      }));
    this.byName = indexStrategies(found);
  }

  /** The strategy registered under `name`; throws when the registry has not been built or lacks it (a wiring bug, never client input). */
  get(name: RegistrationStrategyName): RegistrationStrategy {
    const strategy = this.byName.get(name);
    if (strategy === undefined) throw new Error(`No registration strategy "${name}" (is RegistrationStrategies initialised?).`);
    return strategy;
  }

  /**
   * Completes `registration` through the strategy that recorded it, when its bound client is back from
   * Mydex's Private Key form (the return routes of RegistrationsController). Only strategies that bind
   * a client reach this (own_form, invitation: their `complete` takes the row); a row of a strategy
   * without a binding never passes the binding check, so this refuses it as a wiring bug.
   */
  async completeReturn(registration: Registration, origin: EventOrigin): Promise<Registration> {
    if (registration.bindingHash === null)
      throw new Error(`Registration ${registration.id} (${registration.strategy}) has no client binding to return with.`);
    const strategy = this.get(registration.strategy) as RegistrationStrategy<unknown, unknown, Registration, Registration>;
    return strategy.complete(registration, origin);
  }
}
