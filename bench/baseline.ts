/**
 * The baseline: a bare Fastify server that answers the benchmarked endpoints with the same bodies,
 * doing the same checks by hand (the catalogue's predicates, no Nest, no class-validator, no logging).
 * The BFF's figures are read against it: what the framework, the DTO pipeline and the middleware cost.
 *   PORT=4100 node dist/bench/baseline.js    prints {"listening":4100} once ready
 */
import Database from 'better-sqlite3';
import Fastify, { type FastifyInstance } from 'fastify';
import { createCipheriv, createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import qs from 'qs';
import {
  isMydexIdAlphanumeric,
  isMydexIdLengthOk,
  isMydexIdNotDigitsOnly,
  isPresent,
  checkedRules,
  PUBLISHED_RULES,
  trimField,
  type RuleCode,
} from '../src/validation/rule-catalogue.js';

type Violation = { field: string; code: RuleCode; message: string; params: Record<string, unknown> };
type Details = Record<'mydexid' | 'email' | 'password', unknown>;

/**
 * The registration rules the BFF checks itself (uniqueness is Mydex's), in rule order, each with the
 * catalogue's predicate: the same `check` the DTO runs, so a new rule reaches the baseline unedited.
 */
const CHECKED_RULES = checkedRules('registration');

/**
 * Mydex's registration rules by hand, in rule order: a field's rules after `required` pass a missing
 * value, so a missing field reports only `required`, as the DTO does.
 */
function checkByHand(body: Record<string, unknown>): Violation[] {
  const own = (name: keyof Details) => trimField(Object.hasOwn(body, name) ? body[name] : undefined);
  const details: Details = { mydexid: own('mydexid'), email: own('email'), password: own('password') };
  const errors: Violation[] = [];
  for (const rule of CHECKED_RULES) {
    if (!rule.check(details[rule.field as keyof Details], details))
      errors.push({ field: rule.field, code: rule.code, message: rule.message, params: { ...rule.params } });
  }
  return errors;
}

/**
 * The Mydex callback by hand: the Authentication header compared in constant time, the form parsed
 * with qs, the fields checked, the member key sealed with AES-256-GCM, and an upsert plus an event
 * written durably in one SQLite transaction (WAL, synchronous=NORMAL, as the BFF runs it).
 */
function addCallbackRoute(app: FastifyInstance, file: string): void {
  const expected = Buffer.from(
    createHash('sha512')
      .update(process.env.MYDEX_CONNECTION_TOKEN ?? 'bench-connection-token')
      .digest('hex'),
  );
  const nid = process.env.MYDEX_CONNECTION_NID ?? '1';
  const dataKey = randomBytes(32);
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS connections (connection_id TEXT PRIMARY KEY, uid INTEGER, mydexid TEXT,
    key_iv TEXT, key_tag TEXT, key_ciphertext TEXT, permissions TEXT, updated_at TEXT);
    CREATE TABLE IF NOT EXISTS connection_events (id INTEGER PRIMARY KEY, connection_id TEXT, payload TEXT, received_at TEXT);`);
  const upsert = db.prepare(`INSERT INTO connections VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (connection_id) DO UPDATE SET
    uid = excluded.uid, mydexid = excluded.mydexid, key_iv = excluded.key_iv, key_tag = excluded.key_tag,
    key_ciphertext = excluded.key_ciphertext, permissions = excluded.permissions, updated_at = excluded.updated_at`);
  const event = db.prepare('INSERT INTO connection_events (connection_id, payload, received_at) VALUES (?, ?, ?)');
  const store = db.transaction((row: unknown[], payload: string) => {
    upsert.run(...row);
    event.run(row[0], payload, row[7]);
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, qs.parse(body as string, { depth: 8, parameterLimit: 1000, arrayLimit: 100 }));
  });
  app.post('/v1/connections/callback', async (request, reply) => {
    const header = request.headers.authentication;
    const given = Buffer.from(typeof header === 'string' ? header.toLowerCase() : '');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
      return reply.status(401).type('application/problem+json').send({ code: 'callback_unauthenticated', status: 401 });
    }
    const body = request.body as Record<string, unknown>;
    const uid = Number(body.uid);
    const mydexid = trimField(body.mydexid);
    const key = body.key;
    const ok =
      Number.isInteger(uid) &&
      uid > 0 &&
      isPresent(mydexid) &&
      isMydexIdAlphanumeric(mydexid) &&
      isMydexIdNotDigitsOnly(mydexid) &&
      isMydexIdLengthOk(mydexid) &&
      typeof key === 'string' &&
      key !== '' &&
      body.connection_id === `${uid}-${nid}` &&
      (body.fields === undefined || (typeof body.fields === 'object' && body.fields !== null));
    if (!ok) return reply.status(422).type('application/problem+json').send({ code: 'validation_failed', status: 422 });
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
    const ciphertext = Buffer.concat([cipher.update(key as string, 'utf8'), cipher.final()]);
    const permissions = JSON.stringify(body.fields ?? {});
    const { key: _secret, ...withoutKey } = body;
    store(
      [
        body.connection_id,
        uid,
        mydexid,
        iv.toString('base64'),
        cipher.getAuthTag().toString('base64'),
        ciphertext.toString('base64'),
        permissions,
        new Date().toISOString(),
      ],
      JSON.stringify(withoutKey),
    );
    return reply.send({ received: true });
  });
}

/**
 * A session lookup and the start of an OIDC login by hand: the bearer token hashed and looked up, and
 * state, nonce and a PKCE verifier made, hashed, stored as one row and put into the provider's URL.
 */
function addSessionRoutes(app: FastifyInstance, file: string): void {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS sessions (id_hash TEXT PRIMARY KEY, sub TEXT, mydexid TEXT, expires_at TEXT);
    CREATE TABLE IF NOT EXISTS oidc_transactions (state_hash TEXT PRIMARY KEY, nonce_hash TEXT, verifier TEXT, intent TEXT, expires_at TEXT);`);
  const sha256 = (value: string) => createHash('sha256').update(value).digest('base64url');
  db.prepare('INSERT OR REPLACE INTO sessions VALUES (?, ?, ?, ?)').run(
    sha256('baseline-session-token'),
    'a'.repeat(64),
    'bench',
    '2999-01-01T00:00:00.000Z',
  );
  const find = db.prepare('SELECT sub, mydexid, expires_at FROM sessions WHERE id_hash = ? AND expires_at > ?');
  const insert = db.prepare('INSERT INTO oidc_transactions VALUES (?, ?, ?, ?, ?)');
  app.get('/v1/session', async (request, reply) => {
    const token = /^Bearer (.+)$/.exec(request.headers.authorization ?? '')?.[1];
    const row = token
      ? (find.get(sha256(token), new Date().toISOString()) as { sub: string; mydexid: string; expires_at: string } | undefined)
      : undefined;
    if (!row) return reply.status(401).type('application/problem+json').send({ code: 'session_required', status: 401 });
    return reply
      .header('cache-control', 'no-store')
      .send({ member: { sub: row.sub, mydexid: row.mydexid }, expiresAt: row.expires_at, connected: false });
  });
  app.post('/v1/auth/oidc/authorize', async (_request, reply) => {
    const [state, nonce, verifier, exchangeSecret] = [0, 0, 0, 0].map(() => randomBytes(32).toString('base64url'));
    const challenge = createHash('sha256').update(verifier!).digest('base64url');
    insert.run(sha256(state!), sha256(nonce!), verifier, 'login', new Date(Date.now() + 600_000).toISOString());
    const url = new URL('http://127.0.0.1:9/oauth2/auth');
    for (const [name, value] of Object.entries({
      response_type: 'code',
      client_id: 'bench',
      redirect_uri: 'http://127.0.0.1:3000/v1/auth/oidc/callback',
      scope: 'openid mydexid',
      state: state!,
      nonce: nonce!,
      code_challenge: challenge,
      code_challenge_method: 'S256',
    })) {
      url.searchParams.set(name, value);
    }
    return reply
      .header('cache-control', 'no-store')
      .send({ authorizationUrl: url.toString(), transactionId: sha256(state!).slice(0, 22), exchangeSecret });
  });
}

export function createBaseline(): FastifyInstance {
  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024 });
  const file = process.env.BASELINE_SQLITE ?? join(mkdtempSync(join(tmpdir(), 'bff-baseline-')), 'baseline.sqlite');
  addCallbackRoute(app, file);
  addSessionRoutes(app, file);
  app.removeContentTypeParser(['text/plain']);
  const catalogue = { trimmed: true, lengthUnit: 'codePoints', rules: PUBLISHED_RULES };

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
