import { EventEmitter2 } from '@nestjs/event-emitter';
import { randomUUID } from 'node:crypto';
import { Test, type TestingModule } from '@nestjs/testing';
import { getRepositoryToken } from '@nestjs/typeorm';
import type { FastifyReply } from 'fastify';
import type { Repository } from 'typeorm';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { testingRoot } from '../../test/support/module-testing.js';
import { ProblemValidationPipe } from '../common/problem/problem-validation.pipe.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { appConfig } from '../config/app.config.js';
import { MydexClient } from '../mydex/mydex.client.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { sha256Hex } from '../session/session-token.js';
import { RegistrationChallengeModule } from './challenge/registration-challenge.module.js';
import { Registration } from './registration.entity.js';
import { RegistrationModule } from './registration.module.js';
import { RegistrationStrategies } from './registration-strategies.js';
import { REGISTRATION_STRATEGIES } from './registration-strategy.js';
import { RegistrationsController } from './registrations.controller.js';
import { OwnFormRegistrationStrategy } from './strategies/own-form/own-form-registration.strategy.js';
import { InvitationRegistrationStrategy } from './strategies/invitation/invitation-registration.strategy.js';
import { InvitationsService } from './strategies/invitation/invitations.service.js';
import { RegistrationDetailsDto } from '../validation/registration-details.dto.js';

/**
 * RegistrationModule as a testing module (the template for a module spec: docs/extending.md, "Testing
 * a module"): the real module over an in-memory database, with MydexClient overridden, so the
 * own-form strategy runs without HTTP. The fake answers as MydexClient does: a URL, or the
 * ProblemException it makes of Mydex's answer (a MydexID in use → `mydexid_taken`, HTTP 409).
 */
const mydex = { registerMember: vi.fn() };

const details = { mydexid: 'alice2024', email: 'alice@example.org', password: 'correct horse' };
const PRIVATE_KEY_FORM = 'https://mydex.example/private-key/one-time';

describe('RegistrationModule (testing module, MydexClient overridden)', () => {
  let moduleRef: TestingModule;
  let strategy: OwnFormRegistrationStrategy;
  let controller: RegistrationsController;
  let rows: Repository<Registration>;
  let publicBaseUrl: string;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({
      // RegistrationChallengeModule and RateLimitModule are global in AppModule: the controller's guard and interceptor come from them.
      imports: [testingRoot(), RegistrationChallengeModule, RateLimitModule, RegistrationModule],
    })
      .overrideProvider(MydexClient)
      .useValue(mydex)
      .compile();
    strategy = moduleRef.get(OwnFormRegistrationStrategy);
    controller = moduleRef.get(RegistrationsController);
    rows = moduleRef.get<Repository<Registration>>(getRepositoryToken(Registration));
    publicBaseUrl = moduleRef.get<{ publicBaseUrl: string }>(appConfig.KEY).publicBaseUrl;
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  beforeEach(() => {
    mydex.registerMember.mockReset();
  });

  it("finds one strategy per name of REGISTRATION_STRATEGIES among the module's providers, each under its own name", () => {
    const registry = moduleRef.get(RegistrationStrategies);
    // compile() does not run lifecycle hooks; the application calls this at start-up.
    registry.onModuleInit();
    expect(registry.get('own_form')).toBe(strategy);
    for (const name of REGISTRATION_STRATEGIES) expect(registry.get(name).name).toBe(name);
  });

  it('sends valid details to Mydex with our return URL and records the registration bound to the new secret', async () => {
    mydex.registerMember.mockResolvedValue({ privateKeyUrl: PRIVATE_KEY_FORM });

    const created = await strategy.start({ details, returnTo: 'http://localhost:3000/welcome', client: 'native' });

    expect(created).toMatchObject({ status: 'awaiting_private_key', privateKeyUrl: PRIVATE_KEY_FORM });
    expect(mydex.registerMember).toHaveBeenCalledTimes(1);
    expect(mydex.registerMember).toHaveBeenCalledWith({
      ...details,
      returnTo: `${publicBaseUrl}/v1/registrations/${created.registrationId}/return`,
    });
    const row = await rows.findOneBy({ id: created.registrationId });
    expect(row).toMatchObject({ strategy: 'own_form', status: 'awaiting_private_key', mydexid: 'alice2024', bindingClient: 'native' });
    expect(row?.bindingHash).toBe(sha256Hex(created.registrationSecret));
    // The email is sealed at rest, never stored as given.
    expect(JSON.stringify(row)).not.toContain(details.email);
  });

  it('passes on mydexid_taken (HTTP 409) when Mydex says the MydexID is in use, and keeps nothing', async () => {
    mydex.registerMember.mockRejectedValue(new ProblemException('mydexid_taken', 'This MydexID is already in use; choose another.'));
    const before = await rows.count();
    // What the strategy publishes (bff_registrations_total counts it: src/metrics/registration-metrics.ts).
    const failed: unknown[] = [];
    moduleRef.get(EventEmitter2).on('registration.failed', (event: unknown) => failed.push(event));

    const refusal = await strategy
      .start({ details: { ...details, mydexid: 'bob2024' }, returnTo: 'http://localhost:3000/welcome', client: 'web' })
      .catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(ProblemException);
    expect(refusal).toMatchObject({ code: 'mydexid_taken', status: 409 });
    expect(await rows.count()).toBe(before);
    expect(failed).toEqual([
      {
        registrationId: null,
        strategy: 'own_form',
        mydexid: 'bob2024',
        status: 'refused',
        reason: 'mydexid_taken',
        occurredAt: expect.any(String),
      },
    ]);
  });

  it('registers through an invitation once: of two uses that both reach Mydex, one records its row and spends it, the other is refused and records nothing', async () => {
    // Mydex answers both only once both have called it, so both passed the invitation check before either wrote.
    let bothCalled!: () => void;
    const gate = new Promise<void>((resolve) => (bothCalled = resolve));
    mydex.registerMember.mockImplementation(async () => {
      if (mydex.registerMember.mock.calls.length === 2) bothCalled();
      await gate;
      return { privateKeyUrl: PRIVATE_KEY_FORM };
    });
    const { token } = await moduleRef.get(InvitationsService).create({ email: 'dora@example.org' });
    const before = await rows.count();

    const outcomes = await Promise.allSettled(
      ['dora2024', 'erin2024'].map((mydexid) =>
        moduleRef
          .get(InvitationRegistrationStrategy)
          .start({ token, details: { ...details, mydexid, email: 'dora@example.org' }, returnTo: 'http://localhost:3000/', client: 'web' }),
      ),
    );

    expect(mydex.registerMember).toHaveBeenCalledTimes(2);
    const created = outcomes.flatMap((outcome) => (outcome.status === 'fulfilled' ? [outcome.value] : []));
    const refused = outcomes.flatMap((outcome) => (outcome.status === 'rejected' ? [outcome.reason as unknown] : []));
    expect(created).toHaveLength(1);
    expect(refused).toEqual([expect.objectContaining({ code: 'invitation_not_found', status: 404 })]);
    expect(await rows.count()).toBe(before + 1);
    expect(await rows.findOneBy({ id: created[0]!.registrationId })).toMatchObject({
      strategy: 'invitation',
      status: 'awaiting_private_key',
    });
  });

  it('leaves the rules to the ValidationPipe: details that break one never reach the controller (validation_failed, 422)', async () => {
    // A controller called as a method runs no pipe; this is the pipe POST /v1/registrations runs on its body parameter.
    const body = { type: 'body', metatype: RegistrationDetailsDto } as const;
    const refusal = await new ProblemValidationPipe()
      .transform({ ...details, mydexid: 'alice.smith' }, body)
      .catch((error: unknown) => error);

    expect(refusal).toMatchObject({ code: 'validation_failed', status: 422 });
    expect((refusal as ProblemException).options.errors?.map((error) => `${error.field}:${error.code}`)).toEqual([
      'mydexid:mydexid_not_alphanumeric',
    ]);
  });

  it('gives a web client its binding secret as a cookie, not in the body', async () => {
    mydex.registerMember.mockResolvedValue({ privateKeyUrl: PRIVATE_KEY_FORM });
    const setCookie = vi.fn();
    const reply = { header: vi.fn(), setCookie } as unknown as FastifyReply;

    const created = await controller.create(undefined, { ...details, mydexid: 'carol2024' }, undefined, undefined, reply);

    expect(created).not.toHaveProperty('registrationSecret');
    expect(setCookie).toHaveBeenCalledTimes(1);
    const [, secret] = setCookie.mock.calls[0] as [string, string];
    const row = await rows.findOneBy({ id: created.registrationId });
    expect(row?.bindingHash).toBe(sha256Hex(secret));
  });

  it('completes a returning registration through the strategy that recorded it, and only a bound one', async () => {
    mydex.registerMember.mockResolvedValue({ privateKeyUrl: PRIVATE_KEY_FORM });
    const registry = moduleRef.get(RegistrationStrategies);
    registry.onModuleInit();
    const invitation = moduleRef.get(InvitationRegistrationStrategy);
    const { token } = await moduleRef.get(InvitationsService).create({ email: 'fay@example.org' });
    const { registrationId } = await invitation.start({
      token,
      details: { ...details, mydexid: 'fay2024', email: 'fay@example.org' },
      returnTo: 'http://localhost:3000/',
      client: 'native',
    });
    const completing = vi.spyOn(invitation, 'complete');

    const completed = await registry.completeReturn(await rows.findOneByOrFail({ id: registrationId }), {});

    expect(completing).toHaveBeenCalledTimes(1);
    expect(completed).toMatchObject({ id: registrationId, strategy: 'invitation', status: 'completed' });
    const unbound = await rows.save(
      rows.create({ ...completed, id: randomUUID(), strategy: 'oidc', bindingHash: null, bindingClient: null }),
    );
    await expect(registry.completeReturn(unbound, {})).rejects.toThrow('has no client binding');
    completing.mockRestore();
  });
});
