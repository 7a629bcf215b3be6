import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeLogin, newMember, registerThroughLaca, type NewMember } from '../emulator/testing/journeys.js';
import { ScriptedBrowser } from '../emulator/testing/scripted-browser.js';
import { Registration } from '../src/registration/registration.entity.js';
import { MemberSession } from '../src/session/member-session.entity.js';
import { startBffStack, type BffStack } from './support/bff-stack.js';
import { ENGINES } from './support/database.js';
import { atFrontendOrApp, FRONTEND_ORIGIN, registerWebMember, startWebFlow } from './support/oidc-browser.js';

/**
 * An OIDC `intent=register` callback records a completed registration only for a member the BFF did
 * not know: a member who chooses "Log in" on Mydex's registration page, or who is still logged in at
 * Mydex, comes back from a login, not from a second registration (known-member.ts).
 */

const RETURN_TO = `${FRONTEND_ORIGIN}/welcome`;

describe.each(ENGINES)('intent=register for a member already known (%s)', (engine) => {
  let stack: BffStack;
  let bff: string;
  beforeAll(async () => {
    stack = await startBffStack({ engine });
    bff = stack.a.url;
  });
  afterAll(async () => stack?.close());

  const registrationsOf = (member: NewMember) =>
    stack.a.app.get(DataSource).getRepository(Registration).findBy({ mydexid: member.mydexid });
  const loggedInAs = async (browser: ScriptedBrowser) =>
    ((await (await browser.request(`${bff}/v1/session`)).json()) as { member?: { mydexid?: string } }).member?.mydexid;

  /** intent=register at the BFF; on Mydex's registration page the member chooses "Log in" instead. */
  async function registerButLogIn(browser: ScriptedBrowser, member: NewMember): Promise<URL> {
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'register', email: member.email, returnTo: RETURN_TO });
    const form = await browser.navigate(authorizationUrl);
    expect(form.body).toContain('name="privateKeyConfirmation"');
    const loginPage = `${form.url.origin}${form.url.pathname}?view=login`;
    return (await completeLogin(browser, loginPage, member, { stopAt: atFrontendOrApp })).url;
  }

  it('records one registration when a new member registers, and none when the same member, still logged in at Mydex, registers again', async () => {
    const { browser, member } = await registerWebMember(bff, newMember('again'), { returnTo: RETURN_TO });
    const first = await registrationsOf(member);
    expect(first).toMatchObject([{ strategy: 'oidc', status: 'completed' }]);

    // Still logged in at Mydex: the emulator returns at once, without a form.
    const { authorizationUrl } = await startWebFlow(browser, bff, { intent: 'register', email: member.email, returnTo: RETURN_TO });
    const landing = await browser.navigate(authorizationUrl, {}, { stopAt: atFrontendOrApp });
    expect(landing.chain.some((url) => url.includes('/interaction/'))).toBe(false);
    expect(landing.url.href).toBe(RETURN_TO);
    expect(await loggedInAs(browser)).toBe(member.mydexid);
    expect(await registrationsOf(member)).toEqual(first);
  });

  it('records no second registration when a registered member chooses "Log in" on Mydex\'s registration page, even once the sessions are purged', async () => {
    const { member } = await registerWebMember(bff, newMember('chooselogin'), { returnTo: RETURN_TO });
    // What the periodic purge does a day after the sessions expire: only the registration is left.
    const [{ sub }] = await registrationsOf(member);
    await stack.a.app.get(DataSource).getRepository(MemberSession).delete({ sub: sub! });
    const browser = new ScriptedBrowser();
    expect((await registerButLogIn(browser, member)).href).toBe(RETURN_TO);
    expect(await loggedInAs(browser)).toBe(member.mydexid);
    expect(await registrationsOf(member)).toHaveLength(1);
  });

  it('knows a member by sub alone: a registration recorded without a MydexID (UserInfo disclosed none), sessions purged', async () => {
    const { member } = await registerWebMember(bff, newMember('subonly'), { returnTo: RETURN_TO });
    const data = stack.a.app.get(DataSource);
    const [{ id, sub }] = await registrationsOf(member);
    await data.getRepository(MemberSession).delete({ sub: sub! });
    await data.getRepository(Registration).update({ id }, { mydexid: null });
    expect((await registerButLogIn(new ScriptedBrowser(), member)).href).toBe(RETURN_TO);
    expect(await data.getRepository(Registration).findBy({ sub: sub! })).toHaveLength(1);
  });

  it('records none for a member known only from an earlier login here (registered at Mydex outside intent=register)', async () => {
    const member = newMember('loginonly');
    // intent=login; on Mydex's login page the member follows "Register": a login for the BFF.
    const first = new ScriptedBrowser();
    const { authorizationUrl } = await startWebFlow(first, bff, { intent: 'login', returnTo: RETURN_TO });
    expect((await registerThroughLaca(first, authorizationUrl, member, { stopAt: atFrontendOrApp })).url.href).toBe(RETURN_TO);
    expect(await registrationsOf(member)).toEqual([]);

    const browser = new ScriptedBrowser();
    expect((await registerButLogIn(browser, member)).href).toBe(RETURN_TO);
    expect(await loggedInAs(browser)).toBe(member.mydexid);
    expect(await registrationsOf(member)).toEqual([]);
  });

  it('records no OIDC registration for a member who registered through the own form', async () => {
    const member = newMember('ownform');
    const browser = new ScriptedBrowser();
    const created = await browser.request(`${bff}/v1/registrations`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mydexid: member.mydexid, email: member.email, password: member.password, returnTo: RETURN_TO }),
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const { privateKeyUrl } = (await created.json()) as { privateKeyUrl: string };
    const form = await browser.navigate(privateKeyUrl);
    await browser.submit(
      form,
      { privateKey: member.privateKey, privateKeyConfirmation: member.privateKey, termsAccepted: 'yes' },
      { stopAt: atFrontendOrApp },
    );
    expect(await registrationsOf(member)).toMatchObject([{ strategy: 'own_form', status: 'completed' }]);

    expect((await registerButLogIn(new ScriptedBrowser(), member)).href).toBe(RETURN_TO);
    expect(await registrationsOf(member)).toMatchObject([{ strategy: 'own_form', status: 'completed' }]);
  });
});
