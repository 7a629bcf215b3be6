import { ServiceUnavailableException } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { getDataSourceToken } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testingRoot } from '../../test/support/module-testing.js';
import { dataSourceOptions } from '../persistence/data-source-options.js';
import { HealthController } from './health.controller.js';
import { HealthModule } from './health.module.js';

/**
 * HealthModule as a testing module: readiness against the in-memory database, and against a
 * database that does not answer (the DataSource overridden by one that was never connected).
 */
describe('HealthModule (testing module)', () => {
  describe('with the database up', () => {
    let moduleRef: TestingModule;

    beforeAll(async () => {
      moduleRef = await Test.createTestingModule({ imports: [testingRoot(), HealthModule] }).compile();
    });

    afterAll(async () => {
      await moduleRef?.close();
    });

    it('is live and ready', async () => {
      const health = moduleRef.get(HealthController);

      expect(await health.live()).toMatchObject({ status: 'ok' });
      expect(await health.ready()).toMatchObject({ status: 'ok', info: { database: { status: 'up' } } });
    });
  });

  describe('with the database not answering (DataSource overridden)', () => {
    let moduleRef: TestingModule;

    beforeAll(async () => {
      moduleRef = await Test.createTestingModule({ imports: [testingRoot(), HealthModule] })
        .overrideProvider(getDataSourceToken())
        .useValue(new DataSource(dataSourceOptions('sqlite::memory:')))
        .compile();
    });

    afterAll(async () => {
      await moduleRef?.close();
    });

    it('stays live but is not ready: 503 with the database down', async () => {
      const health = moduleRef.get(HealthController);

      expect(await health.live()).toMatchObject({ status: 'ok' });
      const refusal = await health.ready().catch((error: unknown) => error);
      expect(refusal).toBeInstanceOf(ServiceUnavailableException);
      expect((refusal as ServiceUnavailableException).getResponse()).toMatchObject({
        status: 'error',
        error: { database: { status: 'down' } },
      });
    });
  });
});
