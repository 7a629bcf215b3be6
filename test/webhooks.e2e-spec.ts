import { randomBytes } from 'node:crypto';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { DataSource } from 'typeorm';
import { afterEach, describe, expect, it } from 'vitest';
import { DomainEventPublisher } from '../src/events/domain-event.publisher.js';
import { dataSourceOptions } from '../src/persistence/data-source-options.js';
import { RegistrationsService } from '../src/registration/registrations.service.js';
import { MemberSession } from '../src/session/member-session.entity.js';
import { SessionsService } from '../src/session/sessions.service.js';
import { TransactionalEvents } from '../src/webhooks/transactional-events.js';
import { PreparedQuery } from '../src/persistence/prepared-query.js';
import { dateColumn, SqlEngine } from '../src/persistence/sql-engine.js';
import { SecretInWebhookPayloadError } from '../src/webhooks/payload-guard.js';
import { WebhookOutbox, type WebhookEvent } from '../src/webhooks/webhook-outbox.js';
import { startTestApp, type TestApp } from './support/app.js';
import { CALLBACK_AUTH, callbackForm, NID, TEST_DATA_KEY } from './support/connection-callback.js';
import { ENGINES, freshDatabase, type DatabaseTarget } from './support/database.js';
import { startReceiver, verifiesWith, waitFor, type Answer, type WebhookReceiver } from './support/webhook-receiver.js';

/**
 * Outbound webhooks end to end: the real BFF enqueues through WebhookOutbox in a real transaction and
 * its worker POSTs to a real HTTP receiver on a loopback port, on each engine. Nothing of the outbox
 * or the worker is replaced; short retry schedules, timeouts and polls come from the WEBHOOK_*
 * settings.
 */

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const ESTABLISHED: WebhookEvent = { type: 'connection.established', data: { connectionId: '123-45678', uid: 123, version: 1 } };

interface OutboxRow {
  id: string;
  event_type: string;
  payload: string;
  attempts: number;
  created_at: unknown;
  claimed_until: unknown;
  delivered_at: unknown;
  failed_at: unknown;
  last_error: string | null;
}

const SELECT_ROWS =
  'SELECT "id", "event_type", "payload", "attempts", "created_at", "claimed_until", "delivered_at", "failed_at", "last_error" FROM "webhook_outbox" ORDER BY "created_at"';

/** Enqueues in a transaction of the app's own data source, as a producer does. */
function emit(app: TestApp, event: WebhookEvent): Promise<string | null> {
  const outbox = app.app.get(WebhookOutbox);
  return app.app.get(DataSource).transaction((manager) => outbox.enqueue(manager, event));
}

async function rowsOf(app: TestApp): Promise<OutboxRow[]> {
  return (await app.app.get(DataSource).query(SELECT_ROWS)) as OutboxRow[];
}

/** The outbox as a separate connection sees it (while no app is running). */
async function rowsIn(database: DatabaseTarget): Promise<OutboxRow[]> {
  const db = new DataSource(dataSourceOptions(database.url));
  await db.initialize();
  try {
    return (await db.query(SELECT_ROWS)) as OutboxRow[];
  } finally {
    await db.destroy();
  }
}

async function metricsOf(app: TestApp): Promise<string> {
  return (await fetch(`${app.url}/metrics`)).text();
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(ENGINES)('outbound webhooks on %s', (engine) => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function receiver(answer?: Answer): Promise<WebhookReceiver> {
    const started = await startReceiver(answer);
    cleanups.push(() => started.close());
    return started;
  }

  async function app(env: Record<string, string | undefined>, database?: DatabaseTarget): Promise<TestApp> {
    const started = await startTestApp(
      { WEBHOOK_SECRET: env.WEBHOOK_URL ? SECRET : undefined, WEBHOOK_POLL_INTERVAL_MS: '100', ...env },
      engine,
      { database },
    );
    cleanups.push(() => started.close());
    return started;
  }

  async function sharedDatabase(): Promise<DatabaseTarget> {
    const database = await freshDatabase(engine);
    cleanups.push(() => database.drop());
    return database;
  }

  it('signs every delivery so that an independent HMAC over id.timestamp.body verifies it', async () => {
    const hooks = await receiver(() => 204);
    const bff = await app({ WEBHOOK_URL: hooks.url });
    const before = Date.now();
    const id = await emit(bff, ESTABLISHED);
    expect(id).toMatch(/^msg_[0-9a-f]{32}$/);
    await waitFor('the delivery', () => hooks.received.length === 1);
    const [delivery] = hooks.received;
    expect(delivery.headers['content-type']).toBe('application/json');
    expect(delivery.headers['webhook-id']).toBe(id);
    const timestamp = Number(delivery.headers['webhook-timestamp']);
    expect(Number.isInteger(timestamp)).toBe(true);
    expect(timestamp).toBeGreaterThanOrEqual(Math.floor(before / 1000));
    expect(timestamp).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000));
    expect(delivery.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifiesWith(SECRET, delivery)).toBe(true);
    // The check can fail: another secret, or one byte of the body changed.
    expect(verifiesWith(`whsec_${randomBytes(32).toString('base64')}`, delivery)).toBe(false);
    expect(verifiesWith(SECRET, { ...delivery, body: delivery.body.replace('123', '124') })).toBe(false);

    const body = JSON.parse(delivery.body) as Record<string, unknown>;
    expect(Object.keys(body).sort()).toEqual(['data', 'timestamp', 'type']);
    expect(body.type).toBe('connection.established');
    expect(body.data).toEqual(ESTABLISHED.data);
    expect(new Date(body.timestamp as string).toISOString()).toBe(body.timestamp);

    await waitFor('the row marked delivered', async () => (await rowsOf(bff))[0]?.delivered_at != null);
    const [row] = await rowsOf(bff);
    expect(row).toMatchObject({
      id,
      event_type: 'connection.established',
      payload: delivery.body,
      last_error: null,
      failed_at: null,
      claimed_until: null,
    });
    expect(Number(row.attempts)).toBe(1);
    const metrics = await metricsOf(bff);
    expect(metrics).toMatch(/bff_webhooks_delivered_total\{type="connection.established"\} 1\n/);
    expect(metrics).toMatch(/bff_webhook_attempts_total\{type="connection.established",outcome="ok"\} 1\n/);
    expect(metrics).toMatch(/bff_webhooks_pending\{type="connection.established"\} 0\n/);
  });

  it('retries a receiver that answers 503 with backoff, with the same id and body, until it answers 200', async () => {
    const hooks = await receiver((_request, n) => (n < 2 ? 503 : 200));
    const bff = await app({ WEBHOOK_URL: hooks.url, WEBHOOK_RETRY_SCHEDULE: '0.4,0.8' });
    const id = await emit(bff, ESTABLISHED);
    await waitFor('three attempts', () => hooks.received.length === 3);
    expect(hooks.received.map((request) => request.headers['webhook-id'])).toEqual([id, id, id]);
    expect(new Set(hooks.received.map((request) => request.body)).size).toBe(1);
    expect(hooks.received.every((request) => verifiesWith(SECRET, request))).toBe(true);
    // 0.4 s then 0.8 s, each ±20 %.
    expect(hooks.received[1].at - hooks.received[0].at).toBeGreaterThanOrEqual(300);
    expect(hooks.received[2].at - hooks.received[1].at).toBeGreaterThanOrEqual(620);
    await waitFor('the row marked delivered', async () => (await rowsOf(bff))[0]?.delivered_at != null);
    const [row] = await rowsOf(bff);
    expect(Number(row.attempts)).toBe(3);
    expect(row.last_error).toBe('HTTP 503');
    await sleep(300);
    expect(hooks.received).toHaveLength(3);
    const metrics = await metricsOf(bff);
    expect(metrics).toMatch(/bff_webhook_attempts_total\{type="connection.established",outcome="http_5xx"\} 2\n/);
    expect(metrics).toMatch(/bff_webhooks_delivered_total\{type="connection.established"\} 1\n/);
  });

  it('gives up WEBHOOK_RETRY_FOR_SECONDS after the event and keeps the row as failed', async () => {
    const hooks = await receiver(() => 500);
    const bff = await app({ WEBHOOK_URL: hooks.url, WEBHOOK_RETRY_SCHEDULE: '0.2', WEBHOOK_RETRY_FOR_SECONDS: '1' });
    await emit(bff, ESTABLISHED);
    await waitFor('the row marked failed', async () => (await rowsOf(bff))[0]?.failed_at != null);
    const [row] = await rowsOf(bff);
    expect(row.delivered_at).toBeNull();
    expect(row.last_error).toBe('HTTP 500');
    expect(Number(row.attempts)).toBe(hooks.received.length);
    // About 1 s of attempts 0.2 s (±20 %) apart (fewer on a slow machine).
    expect(hooks.received.length).toBeGreaterThanOrEqual(2);
    expect(hooks.received.length).toBeLessThanOrEqual(8);
    expect(dateColumn(row.failed_at).getTime() - dateColumn(row.created_at).getTime()).toBeLessThan(2000);
    const attempts = hooks.received.length;
    await sleep(600);
    expect(hooks.received).toHaveLength(attempts);
    const metrics = await metricsOf(bff);
    expect(metrics).toMatch(/bff_webhooks_failed_total\{type="connection.established"\} 1\n/);
    expect(metrics).toMatch(/bff_webhooks_pending\{type="connection.established"\} 0\n/);
  });

  it('an instance stopped mid-delivery leaves the row claimed; a new one delivers it once the lease expires', async () => {
    const database = await sharedDatabase();
    // The first request never gets an answer: the instance stops while it waits.
    const hooks = await receiver((_request, n) => (n === 0 ? 'hang' : 200));
    const env = { WEBHOOK_URL: hooks.url, WEBHOOK_TIMEOUT_MS: '1500' };
    const first = await startTestApp({ WEBHOOK_SECRET: SECRET, WEBHOOK_POLL_INTERVAL_MS: '100', ...env }, engine, { database });
    let running = true;
    cleanups.push(async () => running && first.close());
    const id = await emit(first, ESTABLISHED);
    await waitFor('the first attempt', () => hooks.received.length === 1);
    running = false;
    await first.close();

    const [claimed] = await rowsIn(database);
    expect(claimed.delivered_at).toBeNull();
    expect(Number(claimed.attempts)).toBe(1);
    const leaseEnds = dateColumn(claimed.claimed_until).getTime();
    // The lease is twice the timeout, counted from the claim.
    expect(leaseEnds - hooks.received[0].at).toBeGreaterThan(2000);
    expect(leaseEnds - hooks.received[0].at).toBeLessThanOrEqual(3000);

    const second = await app(env, database);
    await waitFor('the delivery by the new instance', () => hooks.received.length === 2, 10_000);
    expect(hooks.received[1].at).toBeGreaterThanOrEqual(leaseEnds);
    expect(hooks.received[1].headers['webhook-id']).toBe(id);
    expect(hooks.received[1].body).toBe(hooks.received[0].body);
    await waitFor('the row marked delivered', async () => (await rowsOf(second))[0]?.delivered_at != null);
    const [row] = await rowsOf(second);
    expect(Number(row.attempts)).toBe(2);
    expect(row.claimed_until).toBeNull();
  });

  it('two instances on one database deliver each event exactly once', async () => {
    const database = await sharedDatabase();
    const hooks = await receiver(async () => {
      await sleep(10);
      return 200;
    });
    // Both poll every 20 ms, so they compete for every row.
    const env = { WEBHOOK_URL: hooks.url, WEBHOOK_POLL_INTERVAL_MS: '20' };
    const a = await app(env, database);
    const b = await app(env, database);
    const ids: string[] = [];
    for (let n = 0; n < 40; n++) {
      ids.push((await emit(n % 2 === 0 ? a : b, { type: 'connection.established', data: { connectionId: `${n}-45678`, uid: n } }))!);
    }
    await waitFor('40 deliveries', () => hooks.received.length >= 40, 20_000);
    await sleep(500);
    const delivered = hooks.received.map((request) => String(request.headers['webhook-id']));
    expect(delivered).toHaveLength(40);
    expect(new Set(delivered)).toEqual(new Set(ids));
    await waitFor('every row marked delivered', async () => (await rowsOf(a)).every((row) => row.delivered_at != null));
    const rows = await rowsOf(a);
    expect(rows).toHaveLength(40);
    expect(rows.every((row) => Number(row.attempts) === 1)).toBe(true);
  });

  it('a producer that writes its transaction as statements (SqlEngine) gets the same rows and deliveries', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url });
    const outbox = bff.app.get(WebhookOutbox);
    const dataSource = bff.app.get(DataSource);
    const sql = SqlEngine.of(dataSource);
    const first = outbox.statementFor(ESTABLISHED)!;
    const second = outbox.statementFor({ type: 'connection.updated', data: { connectionId: '123-45678', version: 2 } })!;
    // On PostgreSQL one statement (the first as a CTE), on SQLite one synchronous transaction.
    await sql.writeAtomically([first.statement, second.statement]);
    first.committed();
    await waitFor('two deliveries', () => hooks.received.length === 2);
    expect(new Set(hooks.received.map((request) => request.headers['webhook-id']))).toEqual(new Set([first.id, second.id]));
    expect(hooks.received.every((request) => verifiesWith(SECRET, request))).toBe(true);
    // Rolled back with its transaction, as enqueue's row is.
    const third = outbox.statementFor(ESTABLISHED)!;
    await expect(sql.transaction([third.statement, ['SELECT no_such_column FROM "webhook_outbox"', []]])).rejects.toThrow();
    expect((await rowsOf(bff)).map((row) => row.id).sort()).toEqual([first.id, second.id].sort());
  });

  it('an applied connection callback sends connection.established, committed with the connection; a repeat sends nothing', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url, DATA_ENCRYPTION_KEY: TEST_DATA_KEY });
    const callback = () =>
      fetch(`${bff.url}/v1/connections/callback`, {
        method: 'POST',
        headers: { authentication: CALLBACK_AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        body: callbackForm({ uid: 601, mydexid: 'hooked1' }),
      });
    expect((await callback()).status).toBe(200);
    await waitFor('the webhook', () => hooks.received.length === 1);
    const [delivery] = hooks.received;
    expect(verifiesWith(SECRET, delivery)).toBe(true);
    const body = JSON.parse(delivery.body) as { type: string; data: unknown };
    expect(body.type).toBe('connection.established');
    expect(body.data).toEqual({ connectionId: `601-${NID}`, uid: 601, method: 'POST', version: 1 });
    // The member key and fields never leave: only ids and the version.
    expect(delivery.body).not.toContain('member-key');
    expect(delivery.body).not.toContain('hooked1');
    // The same delivery again is a duplicate: nothing applied, nothing sent.
    expect((await callback()).status).toBe(200);
    await sleep(400);
    expect(hooks.received).toHaveLength(1);
    expect(await rowsOf(bff)).toHaveLength(1);
  });

  it('the other domain events become webhooks too: connection.updated in the callback transaction, a notification and a quarantined delivery relayed once published', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url, DATA_ENCRYPTION_KEY: TEST_DATA_KEY });
    const callback = (method: string, body: string) =>
      fetch(`${bff.url}/v1/connections/callback`, {
        method,
        headers: { authentication: CALLBACK_AUTH, 'content-type': 'application/x-www-form-urlencoded' },
        body,
      });
    expect((await callback('POST', callbackForm({ uid: 602, mydexid: 'hooked2' }))).status).toBe(200);
    expect((await callback('PUT', callbackForm({ uid: 602, mydexid: 'hooked2', key: 'member-key-rotated-0123456789' }))).status).toBe(200);
    const notification = JSON.stringify({
      type: 'notification',
      uid: '602',
      connection_id: `602-${NID}`,
      dataset: 'ds_events',
      action: 'create',
      updated_id: '7',
      message: 'hidden text',
    });
    const notified = await fetch(`${bff.url}/v1/connections/callback`, {
      method: 'POST',
      headers: { authentication: CALLBACK_AUTH, 'content-type': 'application/json' },
      body: notification,
    });
    expect(notified.status).toBe(200);
    // The MydexID claimed for another uid: stored, quarantined, not applied.
    expect((await callback('POST', callbackForm({ uid: 603, mydexid: 'hooked2', key: 'forged-key-0123456789' }))).status).toBe(200);
    await waitFor('four webhooks', () => hooks.received.length === 4);
    for (const delivery of hooks.received) expect(verifiesWith(SECRET, delivery)).toBe(true);
    const bodies = hooks.received.map((delivery) => JSON.parse(delivery.body) as { type: string; data: Record<string, unknown> });
    expect(bodies.map((body) => body.type).sort()).toEqual([
      'connection.established',
      'connection.notification',
      'connection.quarantined',
      'connection.updated',
    ]);
    const byType = Object.fromEntries(bodies.map((body) => [body.type, body.data]));
    expect(byType['connection.updated']).toEqual({
      connectionId: `602-${NID}`,
      uid: 602,
      method: 'PUT',
      version: 1,
      previousConnectionId: null,
    });
    expect(byType['connection.notification']).toMatchObject({
      connectionId: `602-${NID}`,
      uid: 602,
      dataset: 'ds_events',
      action: 'create',
      updatedId: '7',
    });
    expect(byType['connection.quarantined']).toMatchObject({ connectionId: `603-${NID}`, uid: 603, reason: 'uid_changed', method: 'POST' });
    for (const delivery of hooks.received) {
      for (const secret of ['member-key', 'forged-key', 'hidden text', CALLBACK_AUTH]) expect(delivery.body).not.toContain(secret);
    }
    await sleep(300);
    expect(hooks.received).toHaveLength(4);
  });

  it('a registration and its webhook row commit together: an outbox insert that fails leaves no registration', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url, DATA_ENCRYPTION_KEY: TEST_DATA_KEY });
    const registrations = bff.app.get(RegistrationsService);
    const dataSource = bff.app.get(DataSource);
    const created = await registrations.create(
      { strategy: 'own_form', status: 'awaiting_private_key', mydexid: 'outboxed1', expiresAt: new Date(Date.now() + 60_000) },
      { requestId: 'req-started' },
    );
    await registrations.finish(created.id, 'completed', undefined, { requestId: 'req-completed' });
    // A second finish changes nothing and writes no webhook.
    await registrations.finish(created.id, 'completed');
    await waitFor('two webhooks', () => hooks.received.length === 2);
    const bodies = hooks.received.map((delivery) => JSON.parse(delivery.body) as { type: string; data: Record<string, unknown> });
    expect(bodies.map((body) => body.type).sort()).toEqual(['registration.completed', 'registration.started']);
    expect(bodies.find((body) => body.type === 'registration.completed')?.data).toMatchObject({
      registrationId: created.id,
      strategy: 'own_form',
      mydexid: 'outboxed1',
      requestId: 'req-completed',
    });
    // The outbox table gone: the registration's webhook row cannot be written, so the registration is not either.
    await dataSource.query('ALTER TABLE "webhook_outbox" RENAME TO "webhook_outbox_away"');
    try {
      await expect(
        registrations.create({
          id: '00000000-0000-4000-8000-00000000a70c',
          strategy: 'oidc',
          status: 'completed',
          sub: 'sub-atomic',
          mydexid: 'atomic1',
        }),
      ).rejects.toThrow();
    } finally {
      await dataSource.query('ALTER TABLE "webhook_outbox_away" RENAME TO "webhook_outbox"');
    }
    expect(await registrations.findById('00000000-0000-4000-8000-00000000a70c')).toBeNull();
    await sleep(300);
    expect(hooks.received).toHaveLength(2);
  });

  it('a login and a logout write their webhook rows with the session: without the outbox the session is neither created nor ended', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url });
    const sessions = bff.app.get(SessionsService);
    const events = bff.app.get(TransactionalEvents);
    const dataSource = bff.app.get(DataSource);
    const member = {
      client: 'native' as const,
      issuer: 'https://mydex.example/',
      sub: 'sub-outboxed',
      mydexid: 'outboxed2',
      idToken: null,
    };
    const loggedIn = (created: MemberSession) =>
      events.prepare('member.logged_in', {
        sessionId: created.id,
        client: created.client,
        issuer: created.issuer,
        sub: created.sub,
        mydexid: created.mydexid,
        intent: 'login',
      });
    const { token, session } = await sessions.create(member, loggedIn);
    const loggedOut = (sessionsEnded: number) =>
      events.prepare('member.logged_out', {
        reason: 'logout',
        issuer: member.issuer,
        sub: member.sub,
        mydexid: member.mydexid,
        sessionId: session.id,
        sid: null,
        sessionsEnded,
      });
    await dataSource.query('ALTER TABLE "webhook_outbox" RENAME TO "webhook_outbox_away"');
    try {
      await expect(sessions.end(session.id, loggedOut)).rejects.toThrow();
      await expect(sessions.create({ ...member, sub: 'sub-never' }, loggedIn)).rejects.toThrow();
    } finally {
      await dataSource.query('ALTER TABLE "webhook_outbox_away" RENAME TO "webhook_outbox"');
    }
    expect(await sessions.findActive(token, 'native')).not.toBeNull();
    expect(await dataSource.getRepository(MemberSession).countBy({ sub: 'sub-never' })).toBe(0);
    expect(await sessions.end(session.id, loggedOut)).not.toBeNull();
    // Already ended: nothing ends, no webhook.
    expect(await sessions.end(session.id, loggedOut)).toBeNull();
    await waitFor('two webhooks', () => hooks.received.length === 2);
    const bodies = hooks.received.map((delivery) => JSON.parse(delivery.body) as { type: string; data: Record<string, unknown> });
    expect(bodies.map((body) => body.type).sort()).toEqual(['member.logged_in', 'member.logged_out']);
    expect(bodies.find((body) => body.type === 'member.logged_out')?.data).toMatchObject({ sessionId: session.id, sessionsEnded: 1 });
    await sleep(300);
    expect(hooks.received).toHaveLength(2);
  });

  it('a registration refused by Mydex (nothing recorded) still gets its registration.failed webhook through the relay', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url });
    bff.app.get(DomainEventPublisher).publish('registration.failed', {
      registrationId: null,
      strategy: 'own_form',
      mydexid: 'refused1',
      status: 'refused',
      reason: 'mydexid_taken',
    });
    await waitFor('the webhook', () => hooks.received.length === 1);
    expect(JSON.parse(hooks.received[0].body)).toMatchObject({
      type: 'registration.failed',
      data: { registrationId: null, status: 'refused' },
    });
  });

  it('deletes delivered and failed rows WEBHOOK_RETENTION_DAYS after delivery or failing, and keeps younger ones', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url, WEBHOOK_RETENTION_DAYS: '7' });
    const insert = new PreparedQuery<never>(
      bff.app.get(DataSource),
      'INSERT INTO "webhook_outbox" ("id", "event_type", "payload", "created_at", "next_attempt_at", "attempts", "delivered_at", "failed_at") VALUES ($1, $2, $3, $4, $4, 1, $5, $6)',
    );
    const daysAgo = (days: number) => new Date(Date.now() - days * 24 * 3600 * 1000);
    const aged: [id: string, deliveredDaysAgo: number | null, failedDaysAgo: number | null][] = [
      ['msg_old_delivered', 8, null],
      ['msg_old_failed', null, 8],
      ['msg_young_delivered', 6, null],
      ['msg_young_failed', null, 6],
    ];
    for (const [id, delivered, failed] of aged) {
      await insert.run([
        id,
        'connection.established',
        '{}',
        daysAgo(9),
        delivered === null ? null : daysAgo(delivered),
        failed === null ? null : daysAgo(failed),
      ]);
    }
    // The worker purges after a pass that delivered something.
    const id = await emit(bff, ESTABLISHED);
    await waitFor('the purge', async () => !(await rowsOf(bff)).some((row) => row.id.startsWith('msg_old_')));
    expect((await rowsOf(bff)).map((row) => row.id).sort()).toEqual([id, 'msg_young_delivered', 'msg_young_failed'].sort());
  });

  it('writes nothing when the feature is off', async () => {
    const bff = await app({ WEBHOOK_URL: undefined });
    const outbox = bff.app.get(WebhookOutbox);
    expect(outbox.accepts('connection.established')).toBe(false);
    expect(await emit(bff, ESTABLISHED)).toBeNull();
    // Not even a payload the guard would refuse gets that far.
    expect(await emit(bff, { type: 'connection.established', data: { email: 'a@example.org' } })).toBeNull();
    expect(await rowsOf(bff)).toEqual([]);
    expect(await metricsOf(bff)).not.toMatch(/bff_webhooks_pending\{/);
    // Nor does a published domain event reach the relay: it listens only for types that would be written.
    expect(bff.app.get(EventEmitter2).listeners('member.logged_in')).toHaveLength(0);
  });

  it('writes only the types WEBHOOK_EVENTS lets through', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url, WEBHOOK_EVENTS: 'registration.*, member.logged_out' });
    expect(await emit(bff, ESTABLISHED)).toBeNull();
    const completed = await emit(bff, { type: 'registration.completed', data: { registrationId: 'r1' } });
    const ended = await emit(bff, { type: 'member.logged_out', data: { reason: 'logout' } });
    expect(completed).not.toBeNull();
    expect(ended).not.toBeNull();
    await waitFor('two deliveries', () => hooks.received.length === 2);
    expect((await rowsOf(bff)).map((row) => row.event_type).sort()).toEqual(['member.logged_out', 'registration.completed']);
  });

  it('a transaction rolled back leaves no outbox row and sends nothing', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url });
    const outbox = bff.app.get(WebhookOutbox);
    let seenInside = -1;
    await expect(
      bff.app.get(DataSource).transaction(async (manager) => {
        await outbox.enqueue(manager, ESTABLISHED);
        seenInside = ((await manager.query(SELECT_ROWS)) as OutboxRow[]).length;
        throw new Error('the change failed');
      }),
    ).rejects.toThrow('the change failed');
    // Written in the caller's transaction, so rolled back with it.
    expect(seenInside).toBe(1);
    expect(await rowsOf(bff)).toEqual([]);
    await sleep(400);
    expect(hooks.received).toEqual([]);
  });

  it('refuses (throws, outside production) a payload with keys named like a secret or an email, and writes nothing', async () => {
    const hooks = await receiver();
    const bff = await app({ WEBHOOK_URL: hooks.url });
    for (const data of [
      { member: { Email: 'a@example.org' } },
      { linkingToken: 't' },
      { keys: [{ keyId: 'k1' }] },
      { password: 'p' },
      { clientSecret: 's' },
    ]) {
      await expect(emit(bff, { type: 'connection.established', data })).rejects.toBeInstanceOf(SecretInWebhookPayloadError);
    }
    await expect(emit(bff, { type: 'Connection Established', data: {} })).rejects.toThrow(/lowercase dotted name/);
    expect(await rowsOf(bff)).toEqual([]);
  });
});
