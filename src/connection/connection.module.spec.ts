import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { testingRoot } from '../../test/support/module-testing.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { appConfig } from '../config/app.config.js';
import { connectionConfig } from '../config/connection.config.js';
import { mydexConfig } from '../config/mydex.config.js';
import { MydexClient } from '../mydex/mydex.client.js';
import type { AuthenticatedMember } from '../session/authenticated-member.js';
import { readCallbackDelivery } from './callback-delivery.js';
import { ConnectionModule } from './connection.module.js';
import { ConnectionsController } from './connections.controller.js';
import { ConnectionsService } from './connections.service.js';

/**
 * ConnectionModule as a testing module: the real ConnectionsService over an in-memory database, with
 * MydexClient overridden (no HTTP), and the agreement version overridden to 2 so a member connected
 * at version 1 is offered the update. Connections are stored the way Mydex's callback stores them
 * (readCallbackDelivery + ConnectionsService.record), not written into the table by hand.
 */
const mydex = { startConnection: vi.fn() };
const DSSA = 'https://mydex.example/dssa/one-time';

function member(mydexid: string | null): AuthenticatedMember {
  return {
    via: 'session',
    sessionId: 'session-1',
    client: 'web',
    issuer: 'https://mydex.example',
    sub: `sub-${mydexid ?? 'none'}`,
    mydexid,
    expiresAt: new Date(Date.now() + 3_600_000),
  };
}

describe('ConnectionModule (testing module, MydexClient overridden)', () => {
  let moduleRef: TestingModule;
  let controller: ConnectionsController;
  let connections: ConnectionsService;
  let publicBaseUrl: string;

  /** A First Time Connection callback from Mydex for this member, at this agreement version. */
  async function connected(mydexid: string, uid: number, version: number): Promise<void> {
    const nid = moduleRef.get<{ connectionNid: string }>(mydexConfig.KEY).connectionNid;
    const body = {
      uid,
      mydexid,
      key: `member-key-${uid}-0123456789abcdef`,
      connection_id: `${uid}-${nid}`,
      version,
      fields: { field_ds_personal_details: [[{ access: { r: { a: '1', s: 'A' } } }]] },
    };
    await connections.record(readCallbackDelivery(body, nid), { method: 'POST', contentType: 'json', requestId: `spec-${uid}` });
  }

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [testingRoot(), ConnectionModule] })
      .overrideProvider(MydexClient)
      .useValue(mydex)
      .overrideProvider(connectionConfig.KEY)
      .useValue({ ...connectionConfig(), version: 2 })
      .compile();
    controller = moduleRef.get(ConnectionsController);
    connections = moduleRef.get(ConnectionsService);
    publicBaseUrl = moduleRef.get<{ publicBaseUrl: string }>(appConfig.KEY).publicBaseUrl;
    await connected('olderversion1', 601, 1);
    await connected('current2', 602, 2);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  beforeEach(() => {
    mydex.startConnection.mockReset();
    mydex.startConnection.mockResolvedValue({ url: DSSA });
  });

  it('starts a First Time Connection at Mydex for a member without a connection, returning through our return route', async () => {
    const started = await controller.start(member('alice2024'), {});

    expect(started).toEqual({ url: DSSA, kind: 'first' });
    expect(mydex.startConnection).toHaveBeenCalledWith({
      mydexid: 'alice2024',
      returnTo: `${publicBaseUrl}/v1/connections/return?${new URLSearchParams({ returnTo: 'http://localhost:3000/' })}`,
    });
  });

  it('finds a stored connection whatever the letter case of the MydexID, never with its key', async () => {
    const found = await connections.findByMydexid('OLDERVERSION1');

    expect(found).toMatchObject({ uid: 601, mydexid: 'olderversion1', version: 1 });
    expect(JSON.stringify(found)).not.toContain('member-key');
  });

  it('asks Mydex for the update to the configured agreement when the member approved an older one', async () => {
    const started = await controller.start(member('olderversion1'), {});

    expect(started).toEqual({ url: DSSA, kind: 'update' });
    expect(mydex.startConnection).toHaveBeenCalledWith(expect.objectContaining({ mydexid: 'olderversion1', version: 2 }));
  });

  it('refuses already_connected (409) at the configured version without calling Mydex', async () => {
    const refusal = await controller.start(member('current2'), {}).catch((error: unknown) => error);

    expect(refusal).toBeInstanceOf(ProblemException);
    expect(refusal).toMatchObject({ code: 'already_connected', status: 409 });
    expect(mydex.startConnection).not.toHaveBeenCalled();
  });

  it('refuses a returnTo off the allowlist (return_to_not_allowed, 400) before Mydex is called', async () => {
    const refusal = await controller.start(member('alice2024'), { returnTo: 'https://evil.example/' }).catch((error: unknown) => error);

    expect(refusal).toMatchObject({ code: 'return_to_not_allowed', status: 400 });
    expect(mydex.startConnection).not.toHaveBeenCalled();
  });
});
