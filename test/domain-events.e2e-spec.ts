import { Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { EventEmitter2, OnEvent } from '@nestjs/event-emitter';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { approveDssa, completeLogout, newMember, type NewMember } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import {
  DOMAIN_EVENT_NAMES,
  type DomainEventName,
  type DomainEventPayloads,
  type RegistrationCompletedEvent,
} from '../src/events/domain-events.js';
import { startBffStack, type BffStack } from './support/bff-stack.js';
import { NID } from './support/connection-callback.js';
import { ENGINES } from './support/database.js';
import { atFrontendOrApp, FRONTEND_ORIGIN, registerWebMember, startWebFlow } from './support/oidc-browser.js';

/** The subscriber of docs/extending.md ("Subscribe to an event"), exactly as written there. */
@Injectable()
export class RegistrationAudit {
  readonly completed: string[] = [];

  @OnEvent('registration.completed')
  onCompleted(event: RegistrationCompletedEvent): void {
    this.completed.push(`${event.strategy}:${event.registrationId}`);
  }
}

type Received = { [N in DomainEventName]: { name: N; payload: DomainEventPayloads[N] } }[DomainEventName];

/** Records every domain event the app publishes, in order. */
@Injectable()
class EventRecorder implements OnModuleInit {
  readonly received: Received[] = [];
  constructor(private readonly emitter: EventEmitter2) {}

  onModuleInit(): void {
    for (const name of DOMAIN_EVENT_NAMES)
      this.emitter.on(name, (payload: unknown) => void this.received.push({ name, payload } as Received));
  }

  of<N extends DomainEventName>(name: N): DomainEventPayloads[N][] {
    return this.received.filter((event) => event.name === name).map((event) => event.payload as DomainEventPayloads[N]);
  }
}

/** Subscribers that throw on every event while armed: one through the publisher (suppressErrors: false), one left to Nest's default. */
@Injectable()
class Saboteur {
  armed = false;
  calls = 0;

  rethrown(): void {
    this.calls += 1;
    if (this.armed) throw new Error('subscriber failure (rethrown to the publisher)');
  }

  async swallowed(): Promise<void> {
    this.calls += 1;
    await Promise.resolve();
    if (this.armed) throw new Error('subscriber failure (logged by Nest)');
  }
}
for (const name of DOMAIN_EVENT_NAMES) {
  OnEvent(name, { suppressErrors: false })(
    Saboteur.prototype,
    'rethrown',
    Object.getOwnPropertyDescriptor(Saboteur.prototype, 'rethrown')!,
  );
  OnEvent(name)(Saboteur.prototype, 'swallowed', Object.getOwnPropertyDescriptor(Saboteur.prototype, 'swallowed')!);
}

@Module({ providers: [RegistrationAudit, EventRecorder, Saboteur] })
class EventProbeModule {}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/**
 * The domain events (src/events/, docs/extending.md) of real journeys against the emulator: own-form
 * registration, OIDC registration, login, logout and back-channel logout, a First Time Connection, an
 * update, a notification and a quarantined delivery. Each event's payload is checked, and no payload
 * holds a secret the journeys used. A subscriber that throws changes no answer.
 */
describe.each(ENGINES)('domain events on %s', (engine) => {
  let stack: BffStack;
  let bff: string;
  let recorder: EventRecorder;
  let saboteur: Saboteur;
  /** Every secret the journeys handled, for the final check that no payload carries one. */
  const secrets: string[] = [];
  /** Every event published during the suite (the recorder's list is cleared before each test). */
  const allPublished: Received[] = [];

  beforeAll(async () => {
    stack = await startBffStack({ engine, imports: [EventProbeModule] });
    bff = stack.a.url;
    recorder = stack.a.app.get(EventRecorder);
    saboteur = stack.a.app.get(Saboteur);
    secrets.push(stack.secrets.clientSecret, stack.secrets.connectionToken, stack.secrets.callbackAuth, stack.secrets.dataEncryptionKey);
  });
  afterAll(async () => stack?.close());
  beforeEach(() => {
    recorder.received.length = 0;
  });
  afterEach(() => {
    allPublished.push(...recorder.received);
  });

  const remember = (member: NewMember) => secrets.push(member.password, member.email, member.privateKey);
  const names = () => recorder.received.map((event) => event.name);
  const callback = (method: 'POST' | 'PUT', body: string | Record<string, unknown>) =>
    fetch(`${bff}/v1/connections/callback`, {
      method,
      headers: {
        authentication: stack.secrets.callbackAuth,
        'content-type': typeof body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json',
      },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  /** POST /v1/registrations in `browser` (which keeps the binding cookie). */
  async function registerOwnForm(browser: ScriptedBrowser, member: NewMember): Promise<Response> {
    return browser.request(`${bff}/v1/registrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        mydexid: member.mydexid,
        email: member.email,
        password: member.password,
        returnTo: `${FRONTEND_ORIGIN}/registered`,
      }),
    });
  }

  /** Mydex's Private Key form, then the BFF's return route; stops at the frontend. */
  async function finishPrivateKey(browser: ScriptedBrowser, privateKeyUrl: string, member: NewMember) {
    const form = await browser.navigate(privateKeyUrl);
    expect(form.status).toBe(200);
    return browser.submit(
      form,
      { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
      { stopAt: atFrontendOrApp },
    );
  }

  it('own-form registration: registration.started, registration.completed on the return, registration.failed when Mydex refuses', async () => {
    const member = newMember('evown');
    remember(member);
    const browser = new ScriptedBrowser();
    const created = await registerOwnForm(browser, member);
    expect(created.status).toBe(201);
    const { registrationId, privateKeyUrl } = (await created.json()) as { registrationId: string; privateKeyUrl: string };
    secrets.push(browser.jar.get('bff_registration', bff)!);
    expect(names()).toEqual(['registration.started']);
    expect(recorder.of('registration.started')[0]).toEqual({
      registrationId,
      strategy: 'own_form',
      mydexid: member.mydexid,
      client: 'web',
      expiresAt: expect.stringMatching(ISO),
      occurredAt: expect.stringMatching(ISO),
      requestId: created.headers.get('x-request-id'),
    });

    const landing = await finishPrivateKey(browser, privateKeyUrl, member);
    expect(landing.url.searchParams.get('status')).toBe('completed');
    expect(names()).toEqual(['registration.started', 'registration.completed']);
    expect(recorder.of('registration.completed')[0]).toEqual({
      registrationId,
      strategy: 'own_form',
      mydexid: member.mydexid,
      sub: null,
      occurredAt: expect.stringMatching(ISO),
      requestId: expect.stringMatching(UUID),
    });
    expect(stack.a.app.get(RegistrationAudit).completed).toContain(`own_form:${registrationId}`);

    // The same MydexID again: Mydex refuses it, nothing is recorded.
    const taken = await registerOwnForm(new ScriptedBrowser(), { ...member, email: `x${member.email}` });
    expect(taken.status).toBe(409);
    expect(recorder.of('registration.failed')).toEqual([
      {
        registrationId: null,
        strategy: 'own_form',
        mydexid: member.mydexid,
        status: 'refused',
        reason: 'mydexid_taken',
        occurredAt: expect.stringMatching(ISO),
        requestId: taken.headers.get('x-request-id'),
      },
    ]);
    secrets.push(`x${member.email}`);
  });

  it('OIDC: registration.completed and member.logged_in, member.logged_out on logout, a login, and member.logged_out on back-channel logout', async () => {
    const member = newMember('evoidc');
    remember(member);
    const { browser, cookie } = await registerWebMember(bff, member);
    secrets.push(cookie);
    expect(names()).toEqual(['registration.completed', 'member.logged_in']);
    const [registered] = recorder.of('registration.completed');
    const [loggedIn] = recorder.of('member.logged_in');
    expect(registered).toEqual({
      registrationId: expect.stringMatching(UUID),
      strategy: 'oidc',
      mydexid: member.mydexid,
      sub: expect.any(String),
      occurredAt: expect.stringMatching(ISO),
      requestId: expect.stringMatching(UUID),
    });
    expect(loggedIn).toEqual({
      sessionId: expect.stringMatching(UUID),
      client: 'web',
      issuer: stack.emulator.issuer,
      sub: registered!.sub,
      mydexid: member.mydexid,
      intent: 'register',
      occurredAt: expect.stringMatching(ISO),
      requestId: registered!.requestId,
    });
    expect(stack.a.app.get(RegistrationAudit).completed).toContain(`oidc:${registered!.registrationId}`);

    const logout = await browser.request(`${bff}/v1/session/logout`, { method: 'POST', headers: { 'x-csrf': '1' } });
    expect(logout.status).toBe(200);
    expect(recorder.of('member.logged_out')).toEqual([
      {
        reason: 'logout',
        issuer: stack.emulator.issuer,
        sub: registered!.sub,
        mydexid: member.mydexid,
        sessionId: loggedIn!.sessionId,
        sid: null,
        sessionsEnded: 1,
        occurredAt: expect.stringMatching(ISO),
        requestId: logout.headers.get('x-request-id'),
      },
    ]);
    // A second logout with the same (ended) session is refused and publishes nothing.
    expect(
      (await fetch(`${bff}/v1/session/logout`, { method: 'POST', headers: { 'x-csrf': '1', cookie: `bff_session=${cookie}` } })).status,
    ).toBe(401);
    expect(recorder.of('member.logged_out')).toHaveLength(1);

    // Still logged in at Mydex: a login comes straight back.
    recorder.received.length = 0;
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'login', returnTo: `${FRONTEND_ORIGIN}/` });
    expect((await browser.navigate(authorizationUrl, {}, { stopAt: atFrontendOrApp })).url.origin).toBe(FRONTEND_ORIGIN);
    secrets.push(browser.jar.get('bff_session', bff)!);
    expect(names()).toEqual(['member.logged_in']);
    const [login] = recorder.of('member.logged_in');
    expect(login).toMatchObject({ client: 'web', intent: 'login', sub: registered!.sub, mydexid: member.mydexid });
    expect(login!.sessionId).not.toBe(loggedIn!.sessionId);

    // The member logs out at Mydex: its logout token ends the BFF session.
    const atMydex = new URL(`${stack.emulator.issuer}/oauth2/sessions/logout`);
    atMydex.searchParams.set('client_id', stack.emulator.options.clientId);
    await completeLogout(browser, atMydex);
    await vi.waitFor(() => expect(recorder.of('member.logged_out')).toHaveLength(1));
    expect(recorder.of('member.logged_out')[0]).toEqual({
      reason: 'backchannel',
      issuer: stack.emulator.issuer,
      sub: registered!.sub,
      mydexid: null,
      sessionId: null,
      sid: expect.any(String),
      sessionsEnded: 1,
      occurredAt: expect.stringMatching(ISO),
      requestId: expect.stringMatching(UUID),
    });
  });

  it('connections: connection.established, connection.updated (nothing for a repeat), connection.notification, connection.quarantined', async () => {
    const member = newMember('evconn');
    remember(member);
    const { browser, cookie } = await registerWebMember(bff, member);
    secrets.push(cookie);
    recorder.received.length = 0;

    // A First Time Connection through the emulator: Mydex POSTs the callback.
    const started = await browser.request(`${bff}/v1/connections`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-csrf': '1' },
      body: '{}',
    });
    expect(started.status).toBe(200);
    const { url } = (await started.json()) as { url: string };
    await approveDssa(browser, url, member, { stopAt: atFrontendOrApp });
    const me = (await (await browser.request(`${bff}/v1/connections/me`)).json()) as { connectionId: string; uid: number };
    const key = stack.emulator.connectionKey(me.connectionId)!;
    secrets.push(key);
    expect(names()).toEqual(['connection.established']);
    expect(recorder.of('connection.established')[0]).toEqual({
      connectionId: me.connectionId,
      uid: me.uid,
      mydexid: member.mydexid,
      method: 'POST',
      version: 1,
      occurredAt: expect.stringMatching(ISO),
      requestId: expect.stringMatching(UUID),
    });

    // Mydex re-delivers with new permissions and a new key (PUT); then repeats it.
    const rotated = `rotated-member-key-${member.mydexid}`;
    secrets.push(rotated, 'field_value_never_published');
    const update = [
      `uid=${me.uid}`,
      `mydexid=${member.mydexid}`,
      `key=${rotated}`,
      `connection_id=${me.connectionId}`,
      'fields[field_ds_personal_details][0][][access][r][a]=1',
      'fields[field_ds_personal_details][0][][access][r][s]=field_value_never_published',
    ].join('&');
    const put = await callback('PUT', update);
    expect(put.status).toBe(200);
    expect((await callback('PUT', update)).status).toBe(200);
    expect(names()).toEqual(['connection.established', 'connection.updated']);
    expect(recorder.of('connection.updated')[0]).toEqual({
      connectionId: me.connectionId,
      uid: me.uid,
      mydexid: member.mydexid,
      method: 'PUT',
      version: 1,
      previousConnectionId: null,
      occurredAt: expect.stringMatching(ISO),
      requestId: put.headers.get('x-request-id'),
    });

    const message = `Data for ${member.email} has changed`;
    secrets.push(message);
    const notified = await callback('POST', {
      type: 'notification',
      uid: String(me.uid),
      message,
      dataset: 'ds_events',
      connection_id: me.connectionId,
      action: 'create',
      updated_id: '7',
    });
    expect(notified.status).toBe(200);
    expect(recorder.of('connection.notification')).toEqual([
      {
        connectionId: me.connectionId,
        uid: me.uid,
        dataset: 'ds_events',
        action: 'create',
        updatedId: '7',
        occurredAt: expect.stringMatching(ISO),
        requestId: notified.headers.get('x-request-id'),
      },
    ]);

    // Someone with the Authentication header claims the MydexID for another uid: stored, not applied.
    const forgedKey = `forged-key-${member.mydexid}`;
    secrets.push(forgedKey);
    const otherUid = me.uid + 100_000;
    const forged = await callback('POST', `uid=${otherUid}&mydexid=${member.mydexid}&key=${forgedKey}&connection_id=${otherUid}-${NID}`);
    expect(forged.status).toBe(200);
    expect(recorder.of('connection.quarantined')).toEqual([
      {
        connectionId: `${otherUid}-${NID}`,
        uid: otherUid,
        mydexid: member.mydexid,
        method: 'POST',
        reason: 'uid_changed',
        occurredAt: expect.stringMatching(ISO),
        requestId: forged.headers.get('x-request-id'),
      },
    ]);
    expect(names()).toEqual(['connection.established', 'connection.updated', 'connection.notification', 'connection.quarantined']);
  });

  it('bff_registrations_total is counted from the events as before (own-form and OIDC)', async () => {
    const metrics = await (await fetch(`${bff}/metrics`)).text();
    expect(metrics).toMatch(/bff_registrations_total\{strategy="own_form",outcome="awaiting_private_key"\} 1\n/);
    expect(metrics).toMatch(/bff_registrations_total\{strategy="own_form",outcome="completed"\} 1\n/);
    expect(metrics).toMatch(/bff_registrations_total\{strategy="own_form",outcome="mydexid_taken"\} 1\n/);
    expect(metrics).toMatch(/bff_registrations_total\{strategy="oidc",outcome="completed"\} 2\n/);
  });

  describe('with subscribers that throw', () => {
    let thrown = 0;
    const sync = () => {
      thrown += 1;
      throw new Error('a listener added with EventEmitter2.on that throws at once');
    };
    beforeEach(() => {
      saboteur.armed = true;
      saboteur.calls = 0;
      thrown = 0;
      for (const name of DOMAIN_EVENT_NAMES) stack.a.app.get(EventEmitter2).on(name, sync);
    });
    afterEach(() => {
      saboteur.armed = false;
      for (const name of DOMAIN_EVENT_NAMES) stack.a.app.get(EventEmitter2).off(name, sync);
    });

    it('answers as always: the registration, the return, the login, the callback and the logout go through', async () => {
      const member = newMember('evthrow');
      remember(member);
      const browser = new ScriptedBrowser();
      const created = await registerOwnForm(browser, member);
      expect(created.status).toBe(201);
      const body = (await created.json()) as Record<string, unknown>;
      expect(Object.keys(body).sort()).toEqual(['privateKeyUrl', 'registrationId', 'status']);
      expect(body.status).toBe('awaiting_private_key');
      secrets.push(browser.jar.get('bff_registration', bff)!);
      const landing = await finishPrivateKey(browser, String(body.privateKeyUrl), member);
      expect(landing.url.href).toBe(`${FRONTEND_ORIGIN}/registered?registration=${String(body.registrationId)}&status=completed`);
      const status = await fetch(`${bff}/v1/registrations/${String(body.registrationId)}`);
      expect(((await status.json()) as { status: string }).status).toBe('completed');

      const oidcMember = newMember('evthrowoidc');
      remember(oidcMember);
      const session = await registerWebMember(bff, oidcMember);
      secrets.push(session.cookie);
      expect((await session.browser.request(`${bff}/v1/session`)).status).toBe(200);

      const delivered = await callback(
        'POST',
        `uid=424242&mydexid=${oidcMember.mydexid}&key=thrown-key-0123456789&connection_id=424242-${NID}`,
      );
      secrets.push('thrown-key-0123456789');
      expect(delivered.status).toBe(200);
      expect(await delivered.json()).toEqual({ received: true });
      expect(((await (await session.browser.request(`${bff}/v1/connections/me`)).json()) as { connected: boolean }).connected).toBe(true);

      const logout = await session.browser.request(`${bff}/v1/session/logout`, { method: 'POST', headers: { 'x-csrf': '1' } });
      expect(logout.status).toBe(200);
      expect(Object.keys((await logout.json()) as object)).toEqual(['endSessionUrl']);

      // Every event was still published to every subscriber.
      expect(names()).toEqual([
        'registration.started',
        'registration.completed',
        'registration.completed',
        'member.logged_in',
        'connection.established',
        'member.logged_out',
      ]);
      expect(saboteur.calls).toBe(2 * 6);
      expect(thrown).toBe(6);
    });
  });

  it('no payload holds a password, key, email, token, secret or callback value the journeys used', () => {
    expect(allPublished.map((event) => event.name)).toEqual(expect.arrayContaining([...DOMAIN_EVENT_NAMES]));
    expect(secrets.every((secret) => typeof secret === 'string' && secret.length >= 8)).toBe(true);
    expect(secrets.length).toBeGreaterThan(20);
    const published = JSON.stringify(allPublished);
    for (const secret of secrets) expect(published).not.toContain(secret);
    // No JWT (ID token, logout token) either.
    expect(published).not.toMatch(/eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/);
    expect(published).not.toMatch(/@example\.org/);
  });
});
