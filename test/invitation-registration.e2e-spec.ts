import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator, type RunningEmulator } from '../emulator/emulator.js';
import { newMember, type NewMember } from '../emulator/testing/journeys.js';
import { DataEncryption } from '../src/common/crypto/data-encryption.js';
import { openText } from '../src/common/crypto/sealed-text.js';
import { SqlEngine } from '../src/persistence/sql-engine.js';
import { Registration } from '../src/registration/registration.entity.js';
import { RegistrationsService } from '../src/registration/registrations.service.js';
import { Invitation, invitationEmailContext } from '../src/registration/strategies/invitation/invitation.entity.js';
import { runInvitationsCommand } from '../src/registration/strategies/invitation/invitations-command.js';
import { InvitationsService } from '../src/registration/strategies/invitation/invitations.service.js';
import type { TestApp } from './support/app.js';
import { ENGINES } from './support/database.js';
import { creatingBrowser, finishAtMydex, FRONTEND, startBffFor } from './support/own-form.js';
import { sendRaw } from './support/raw-http.js';

/**
 * The invitation strategy end to end: the real BFF against the Mydex emulator, an invitation created
 * as a backend team would (InvitationsService.create), read and used by the member's frontend over HTTP.
 */

const body = (member: NewMember, extra: Record<string, unknown> = {}) => ({
  mydexid: member.mydexid,
  email: member.email,
  password: member.password,
  ...extra,
});

const expectProblem = (
  res: { status: number; headers: Record<string, unknown>; body: { code?: string; status?: number } },
  status: number,
  code: string,
) => {
  expect(res.status, JSON.stringify(res.body)).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  expect(res.body).toMatchObject({ code, status });
};

describe.each(ENGINES)('registration through an invitation link against the emulator (%s)', (engine) => {
  let emulator: RunningEmulator;
  let t: TestApp;
  let invitations: InvitationsService;
  let db: DataSource;

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0, host: '127.0.0.1' });
    t = await startBffFor(emulator, engine);
    invitations = t.app.get(InvitationsService);
    db = t.app.get(DataSource);
  });
  afterAll(async () => {
    await t?.close();
    await emulator?.close();
  });

  const registered = (member: NewMember) => emulator.state.members.some((m) => m.mydexid === member.mydexid);

  it('create → read → register → Private Key form → completed as `invitation`; a second use is refused', async () => {
    const member = newMember('invited');
    const invitation = await invitations.create({ email: member.email });
    expect(invitation.expiresAt.getTime() - Date.now()).toBeGreaterThan(7 * 24 * 3600 * 1000 - 60_000);

    const read = await request(t.url).get(`/v1/invitations/${invitation.token}`);
    expect(read.status).toBe(200);
    expect(read.headers['cache-control']).toBe('no-store');
    expect(read.body).toEqual({ email: member.email, expiresAt: invitation.expiresAt.toISOString() });

    const created = await request(t.url)
      .post(`/v1/invitations/${invitation.token}/registration`)
      .send(body(member, { returnTo: '/welcome' }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toEqual({
      registrationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      status: 'awaiting_private_key',
      privateKeyUrl: expect.stringMatching(/\/private-key\//),
    });
    const id = created.body.registrationId as string;

    const landing = await finishAtMydex(created.body.privateKeyUrl, member, creatingBrowser(t.url, created));
    expect(landing.url.toString()).toBe(`${FRONTEND}/welcome?registration=${id}&status=completed`);
    expect(registered(member)).toBe(true);
    const status = await request(t.url).get(`/v1/registrations/${id}`);
    expect(status.body).toMatchObject({ registrationId: id, strategy: 'invitation', status: 'completed' });

    const spent = await db.getRepository(Invitation).findOneByOrFail({ id: invitation.id });
    expect(spent).toMatchObject({ registrationId: id, usedAt: expect.any(Date) });

    const other = newMember('again');
    expectProblem(
      await request(t.url).post(`/v1/invitations/${invitation.token}/registration`).send(body(other)),
      404,
      'invitation_not_found',
    );
    expectProblem(await request(t.url).get(`/v1/invitations/${invitation.token}`), 404, 'invitation_not_found');
    expect(registered(other)).toBe(false);
  });

  it('gives a native app its binding secret, which confirms the return and then stands in for a session in the connect window', async () => {
    const member = newMember('invnative');
    const { token } = await invitations.create({ email: member.email });
    const created = await request(t.url)
      .post(`/v1/invitations/${token}/registration`)
      .send(body(member, { client: 'native' }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const secret = created.body.registrationSecret as string;
    expect(secret).toMatch(/^[A-Za-z0-9_-]{43}$/);
    await finishAtMydex(created.body.privateKeyUrl, member);

    const confirmed = await request(t.url)
      .post(`/v1/registrations/${created.body.registrationId}/return`)
      .set('x-registration-secret', secret);
    expect(confirmed.body).toMatchObject({ strategy: 'invitation', status: 'completed' });
    expect(await t.app.get(RegistrationsService).findBound(secret, 'native')).toMatchObject({
      registrationId: created.body.registrationId,
      mydexid: member.mydexid,
    });
  });

  it('keeps an invitation single-use in the database: a second spend fails its transaction, recognised on this engine', async () => {
    const { id } = await invitations.create({ email: newMember('twice').email });
    await SqlEngine.of(db).transaction([invitations.spend(id, randomUUID())]);
    const second = await SqlEngine.of(db)
      .transaction([invitations.spend(id, randomUUID())])
      .catch((error: unknown) => error);
    expect(second).toBeInstanceOf(Error);
    expect(InvitationsService.isSecondUse(second)).toBe(true);
    expect(await db.getRepository(Invitation).findOneByOrFail({ id })).toMatchObject({ uses: 1 });
  });

  it('refuses an expired invitation, to read and to register, without calling Mydex', async () => {
    const member = newMember('expired');
    const invitation = await invitations.create({ email: member.email });
    await db.getRepository(Invitation).update({ id: invitation.id }, { expiresAt: new Date(Date.now() - 1000) });

    expectProblem(await request(t.url).get(`/v1/invitations/${invitation.token}`), 404, 'invitation_not_found');
    expectProblem(
      await request(t.url).post(`/v1/invitations/${invitation.token}/registration`).send(body(member)),
      404,
      'invitation_not_found',
    );
    expect(registered(member)).toBe(false);
    expect(await db.getRepository(Registration).countBy({ mydexid: member.mydexid })).toBe(0);
  });

  it('answers bad tokens with problem+json, never a 500: unknown, percent-encoded, broken encodings, overlong, non-ASCII', async () => {
    const unknown = 'A'.repeat(43);
    const tokens = [
      unknown,
      '%41%41%41',
      '%2e%2e',
      '%ZZ',
      '%',
      'x'.repeat(5000),
      encodeURIComponent('ünïcødé-tøken'),
      encodeURIComponent('\u{1F600}'.repeat(20)),
      '%00',
      '%C3%28',
    ];
    for (const token of tokens) {
      for (const [method, path] of [
        ['GET', `/v1/invitations/${token}`],
        ['POST', `/v1/invitations/${token}/registration`],
      ] as const) {
        const res = await sendRaw(t.url, {
          method,
          path,
          headers: { 'content-type': 'application/json' },
          body: method === 'POST' ? Buffer.from(JSON.stringify(body(newMember('bad')))) : undefined,
        });
        expect(res.status, `${method} ${path.slice(0, 60)}: ${res.body.slice(0, 200)}`).toBeGreaterThanOrEqual(400);
        expect(res.status, `${method} ${path.slice(0, 60)}`).toBeLessThan(500);
        expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
        const problem = JSON.parse(res.body) as { code: string; status: number };
        expect(problem.status).toBe(res.status);
        if (token === unknown) expect(problem.code).toBe('invitation_not_found');
      }
    }
    // Raw non-ASCII bytes on the request line.
    const raw = await sendRaw(t.url, { method: 'GET', path: '/v1/invitations/ünï', headers: {} });
    expect(raw.status).toBeGreaterThanOrEqual(400);
    expect(raw.status).toBeLessThan(500);
  });

  it('npm run invitations -- create prints a working link with the token in its fragment; refuses a bad email or usage', async () => {
    const member = newMember('cli');
    const lines: string[] = [];
    const code = await runInvitationsCommand(
      ['create', '--email', member.email, '--days', '2'],
      invitations,
      `${FRONTEND}/invitation`,
      (line) => lines.push(line),
    );
    expect(code).toBe(0);
    const link = new URL(lines[1]!);
    expect(`${link.origin}${link.pathname}`).toBe(`${FRONTEND}/invitation`);
    const token = new URLSearchParams(link.hash.slice(1)).get('invitation')!;
    const read = await request(t.url).get(`/v1/invitations/${token}`);
    expect(read.body.email).toBe(member.email);
    expect(Date.parse(read.body.expiresAt as string) - Date.now()).toBeGreaterThan(2 * 24 * 3600 * 1000 - 60_000);

    const refused: string[] = [];
    expect(await runInvitationsCommand(['create', '--email', 'not-an-email'], invitations, FRONTEND, (line) => refused.push(line))).toBe(1);
    expect(refused.join('\n')).toContain('The email is not valid');
    for (const args of [
      ['create'],
      ['delete', '--email', member.email],
      ['create', '--email', member.email, '--days', '0'],
      ['create', '--email', member.email, '--page', 'javascript:x'],
    ]) {
      expect(await runInvitationsCommand(args, invitations, FRONTEND, () => undefined), args.join(' ')).toBe(64);
    }
  });

  it('stores the invited email only sealed, and the token only as its hash', async () => {
    const member = newMember('sealed');
    const invitation = await invitations.create({ email: member.email });
    const rows = (await db.query(`SELECT * FROM invitations WHERE id = '${invitation.id}'`)) as Record<string, unknown>[];
    expect(rows).toHaveLength(1);
    const text = JSON.stringify(rows);
    expect(text).not.toContain(member.email);
    expect(text).not.toContain(member.mydexid);
    expect(text).not.toContain(invitation.token);
    // Sealed under the app's data key, bound to its row.
    expect(openText(t.app.get(DataEncryption), rows[0]!.email_sealed as string, invitationEmailContext(invitation.id))).toBe(member.email);
  });
});
