import { Test, type TestingModule } from '@nestjs/testing';
import type { FastifyReply } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { testingRoot } from '../../test/support/module-testing.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { appConfig } from '../config/app.config.js';
import { ErrorsController } from './errors.controller.js';
import { ErrorsModule } from './errors.module.js';

/**
 * ErrorsModule as a testing module, with the app config overridden (PUBLIC_BASE_URL of a deployment
 * behind a proxy): the error pages link to that address. The controller is called directly; the
 * reply is a stand-in that records the headers it was given.
 */
const BASE = 'https://bff.example.org/';

function fakeReply() {
  const headers: Record<string, string> = {};
  const reply = {
    header: vi.fn((name: string, value: string) => {
      headers[name.toLowerCase()] = value;
      return reply;
    }),
    type: vi.fn((value: string) => {
      headers['content-type'] = value;
      return reply;
    }),
  };
  return { reply: reply as unknown as FastifyReply, headers };
}

describe('ErrorsModule (testing module, app config overridden)', () => {
  let moduleRef: TestingModule;
  let errors: ErrorsController;

  beforeAll(async () => {
    moduleRef = await Test.createTestingModule({ imports: [testingRoot(), ErrorsModule] })
      .overrideProvider(appConfig.KEY)
      .useValue({ ...appConfig(), publicBaseUrl: BASE })
      .compile();
    errors = moduleRef.get(ErrorsController);
  });

  afterAll(async () => {
    await moduleRef?.close();
  });

  it('describes mydexid_taken as a 409, in JSON when the client prefers it, cacheable per Accept', () => {
    const { reply, headers } = fakeReply();

    const entry = errors.one('mydexid_taken', 'application/json', reply);

    expect(entry).toMatchObject({ code: 'mydexid_taken', status: 409 });
    expect(headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      vary: 'Accept',
      'cache-control': 'public, max-age=3600',
    });
  });

  it('links every code of the HTML list under the configured public base URL', () => {
    const { reply, headers } = fakeReply();

    const html = errors.list('text/html', reply);

    expect(headers['content-type']).toBe('text/html; charset=utf-8');
    expect(html).toContain('href="https://bff.example.org/errors/mydexid_taken"');
    expect(html).not.toContain('localhost');
  });

  it('answers not_found (404) for a code that is not in the catalogue', () => {
    const { reply } = fakeReply();

    const refusal = (() => {
      try {
        return errors.one('MYDEXID_TAKEN', undefined, reply);
      } catch (error) {
        return error;
      }
    })();

    expect(refusal).toBeInstanceOf(ProblemException);
    expect(refusal).toMatchObject({ code: 'not_found', status: 404 });
  });
});
