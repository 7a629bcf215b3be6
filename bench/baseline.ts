/**
 * The baseline: a bare Fastify server that answers the benchmarked endpoints with the same bodies,
 * doing the same checks by hand (the catalogue's predicates, no Nest, no class-validator, no logging).
 * The BFF's figures are read against it: what the framework, the DTO pipeline and the middleware cost.
 *   PORT=4100 node dist/bench/baseline.js    prints {"listening":4100} once ready
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { pathToFileURL } from 'node:url';
import {
  differs,
  isEmailWellFormed,
  isMydexIdAlphanumeric,
  isMydexIdLengthOk,
  isMydexIdNotDigitsOnly,
  isPasswordLongEnough,
  isPresent,
  RULES,
  trimField,
  type RuleCode,
} from '../src/validation/rule-catalogue.js';

type Violation = { field: string; code: RuleCode; message: string };

const message = (field: string, code: RuleCode) => RULES.find((r) => r.form === 'registration' && r.field === field && r.code === code)!.message;

/** Mydex's registration rules written out longhand, in rule order. */
function checkByHand(body: Record<string, unknown>): Violation[] {
  const errors: Violation[] = [];
  const add = (field: string, code: RuleCode) => errors.push({ field, code, message: message(field, code) });
  const mydexid = trimField(Object.hasOwn(body, 'mydexid') ? body.mydexid : undefined);
  const email = trimField(Object.hasOwn(body, 'email') ? body.email : undefined);
  const password = trimField(Object.hasOwn(body, 'password') ? body.password : undefined);
  if (!isPresent(mydexid)) add('mydexid', 'required');
  else {
    if (!isMydexIdAlphanumeric(mydexid)) add('mydexid', 'mydexid_not_alphanumeric');
    if (!isMydexIdNotDigitsOnly(mydexid)) add('mydexid', 'mydexid_digits_only');
    if (!isMydexIdLengthOk(mydexid)) add('mydexid', 'mydexid_length');
  }
  if (!isPresent(email)) add('email', 'required');
  else if (!isEmailWellFormed(email)) add('email', 'email_invalid');
  if (!isPresent(password)) add('password', 'required');
  else {
    if (!differs(password, mydexid)) add('password', 'password_same_as_mydexid');
    if (!isPasswordLongEnough(password)) add('password', 'password_too_short');
  }
  return errors;
}

export function createBaseline(): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  app.removeContentTypeParser(['text/plain']);
  const catalogue = { trimmed: true, lengthUnit: 'codePoints', rules: RULES };

  app.get('/health/live', async () => ({ status: 'ok' }));
  app.get('/v1/validation/rules', async (_request, reply) => reply.header('cache-control', 'public, max-age=300').send(catalogue));
  app.post('/v1/validation/registration', async (request, reply) => {
    const body = request.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      return reply.status(400).type('application/problem+json').send({ code: 'body_not_object', status: 400 });
    }
    const errors = checkByHand(body as Record<string, unknown>);
    return reply.header('cache-control', 'no-store').send({ valid: errors.length === 0, errors });
  });
  return app;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const app = createBaseline();
  const port = Number(process.env.PORT ?? 4100);
  await app.listen({ port, host: '127.0.0.1' });
  process.stdout.write(`${JSON.stringify({ listening: port })}\n`);
  const stop = () => void app.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
