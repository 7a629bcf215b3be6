import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { RULES } from '../../src/validation/rule-catalogue.js';
import { launchChromium, startJourney, type Journey } from './support/journey.js';

/**
 * A member's journeys through the demo SPA (examples/spa), the BFF and the emulator's real pages
 * (LaCa, Private Key form, DSSA), in Debian's Chromium. Every step leaves a screenshot under
 * test/artifacts/<journey>/, and any console error the page did not expect fails the journey.
 */

let browser: Browser | undefined;
let journey: Journey | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
});

afterEach(async (context) => {
  const current = journey;
  journey = undefined;
  if (!current) return;
  try {
    if (context.task.result?.state === 'fail') {
      await current.shot('failure').catch(() => undefined);
      console.error(`emulator log:\n  ${current.stack.emulatorLog.join('\n  ')}`);
    }
    expect(current.problems(), 'browser console errors').toEqual([]);
  } finally {
    await current.close();
  }
});

/** The English message of a registration rule, as the BFF sends it in `errors[]`. */
function ruleMessage(field: string, code: string): string {
  const rule = RULES.find((candidate) => candidate.form === 'registration' && candidate.field === field && candidate.code === code);
  if (!rule) throw new Error(`no rule ${field}/${code}`);
  return rule.message;
}

async function fieldErrors(page: Page, field: string): Promise<string[]> {
  return page.locator(`#${field}-errors li`).allTextContents();
}

async function begin(name: string): Promise<Journey> {
  if (!browser) throw new Error('Chromium did not start');
  journey = await startJourney(browser, name);
  // Logged out, the SPA asks for the session and gets 401: expected, and shown as "not logged in".
  journey.allowHttpError('/v1/session', 401);
  return journey;
}

/** The emulator's pages (Mydex's side): reached by navigation, never by fetch. */
function onEmulator(j: Journey): RegExp {
  return new RegExp(`^${j.stack.emulator.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`);
}

async function backOnSpa(j: Journey): Promise<void> {
  await j.page.waitForURL((url) => url.origin === j.stack.bffUrl && url.pathname === '/');
  await j.page.locator('body[data-ready="true"]').waitFor();
}

async function fillMydexRegistration(page: Page, member: { mydexid: string; password: string; privateKey: string }) {
  await page.getByLabel('MydexID').fill(member.mydexid);
  await page.getByLabel('Password', { exact: true }).fill(member.password);
  await page.getByLabel('Private key', { exact: true }).fill(member.privateKey);
  await page.getByLabel('Confirm private key').fill(member.privateKey);
  await page.getByLabel('I accept the Mydex terms of service').check();
}

interface NewMember {
  mydexid: string;
  email: string;
  password: string;
  privateKey: string;
}

async function fillOwnForm(page: Page, member: Pick<NewMember, 'mydexid' | 'email' | 'password'>) {
  const form = page.locator('#own-form');
  await form.getByLabel('MydexID').fill(member.mydexid);
  await form.getByLabel('Email', { exact: true }).fill(member.email);
  await form.getByLabel('Password').fill(member.password);
}

/** Our form, then Mydex's Private Key form, then back to the SPA: the member then exists at Mydex. */
async function registerWithOwnForm(j: Journey, member: NewMember, shots = false) {
  const { page } = j;
  await fillOwnForm(page, member);
  // Live validation settles on "no errors" before the member sends the form.
  await page.locator('#mydexid:not([aria-invalid])').waitFor();
  if (shots) await j.shot('own-form-filled');
  await page.locator('#own-form').getByRole('button', { name: 'Register' }).click();

  await page.waitForURL(onEmulator(j));
  await page.getByRole('heading', { name: 'Create your private key' }).waitFor();
  if (shots) await j.shot('mydex-private-key-form');
  await page.getByLabel('Private key', { exact: true }).fill(member.privateKey);
  await page.getByLabel('Confirm private key').fill(member.privateKey);
  await page.getByLabel('I accept the Mydex terms of service').check();
  if (shots) await j.shot('mydex-private-key-filled');
  await page.getByRole('button', { name: 'Create my Personal Data Store' }).click();
  await backOnSpa(j);
}

/** Mydex's own registration form (OIDC delegation); the member comes back logged in. */
async function registerWithMydex(j: Journey, member: NewMember) {
  const { page } = j;
  await page.getByLabel('Email (optional)').fill(member.email);
  await page.getByRole('button', { name: 'Register with Mydex' }).click();
  await page.waitForURL(onEmulator(j));
  await fillMydexRegistration(page, member);
  await page.getByRole('button', { name: 'Register' }).click();
  await backOnSpa(j);
  await page.getByText(`You are logged in as ${member.mydexid}.`).waitFor();
}

describe('demo SPA journeys in Chromium', () => {
  it('registers with Mydex (OIDC) with the email pre-filled and comes back logged in', async () => {
    const j = await begin('oidc-registration');
    const { page } = j;
    await j.openSpa();
    await expect(page.locator('#session-state').textContent()).resolves.toBe('You are not logged in.');
    await j.shot('spa-logged-out');

    await page.getByLabel('Email (optional)').fill('olivia@example.org');
    await j.shot('email-entered');
    await page.getByRole('button', { name: 'Register with Mydex' }).click();

    await page.waitForURL(onEmulator(j));
    await page.getByRole('heading', { name: 'Register for a MydexID' }).waitFor();
    await expect(page.getByLabel('Email address').inputValue()).resolves.toBe('olivia@example.org');
    await j.shot('mydex-form-email-prefilled');

    await fillMydexRegistration(page, { mydexid: 'olivia', password: 'correct horse battery', privateKey: 'my very private key' });
    await j.shot('mydex-form-filled');
    await page.getByRole('button', { name: 'Register' }).click();

    await backOnSpa(j);
    await expect(page.locator('#session-state').textContent()).resolves.toBe('You are logged in as olivia.');
    await expect(page.locator('#session-mydexid').textContent()).resolves.toBe('olivia');
    await expect(page.locator('#session-connected').textContent()).resolves.toBe('No');
    await expect(page.getByRole('button', { name: 'Connect my PDS' }).isVisible()).resolves.toBe(true);
    await j.shot('spa-logged-in');
    expect(j.stack.emulator.state.members.map((m) => m.mydexid)).toEqual(['olivia']);
  });

  it('registers with our form, on through the Private Key form, and back to the SPA', async () => {
    const j = await begin('own-form-registration');
    const { page } = j;
    await j.openSpa();
    await j.shot('spa');
    await registerWithOwnForm(
      j,
      { mydexid: 'noah', email: 'noah@example.org', password: 'a long password', privateKey: 'noah private key' },
      true,
    );

    const notice = page.getByRole('status').filter({ hasText: 'Registration complete' });
    await notice.waitFor();
    await expect(notice.textContent()).resolves.toMatch(/your MydexID and Personal Data Store are ready/);
    // The SPA dropped ?registration=…&status=… once it had read them.
    expect(new URL(page.url()).search).toBe('');
    await j.shot('spa-registration-complete');
    expect(j.stack.emulator.state.members.map((m) => m.mydexid)).toEqual(['noah']);
  });

  it('shows each failed rule beside its field as the member types, and again when the form is sent', async () => {
    const j = await begin('rule-failures');
    const { page } = j;
    await j.openSpa();
    const mydexid = page.locator('#mydexid');

    await mydexid.pressSequentially('12345', { delay: 20 });
    await page.locator('#mydexid-errors li').first().waitFor();
    expect(await fieldErrors(page, 'mydexid')).toEqual([ruleMessage('mydexid', 'mydexid_digits_only')]);
    await expect(mydexid.getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(mydexid.getAttribute('aria-describedby')).resolves.toContain('mydexid-errors');
    // Fields the member has not reached yet stay quiet.
    expect(await fieldErrors(page, 'email')).toEqual([]);
    expect(await fieldErrors(page, 'password')).toEqual([]);
    await j.shot('digits-only-mydexid');

    await page.locator('#password').pressSequentially('12345', { delay: 20 });
    await page.locator('#password-errors li').nth(1).waitFor();
    expect(await fieldErrors(page, 'password')).toEqual([
      ruleMessage('password', 'password_same_as_mydexid'),
      ruleMessage('password', 'password_too_short'),
    ]);
    await j.shot('password-rules');

    await mydexid.fill('ava');
    await page.locator('#mydexid:not([aria-invalid])').waitFor();
    expect(await fieldErrors(page, 'mydexid')).toEqual([]);
    await j.shot('mydexid-fixed');

    // Sent as it is: the BFF refuses it (422) and every rule's message lands beside its field.
    j.allowHttpError('/v1/registrations', 422);
    await page.locator('#own-form').getByRole('button', { name: 'Register' }).click();
    await page.locator('#email-errors li').first().waitFor();
    expect(await fieldErrors(page, 'email')).toEqual([ruleMessage('email', 'required')]);
    expect(await fieldErrors(page, 'password')).toEqual([ruleMessage('password', 'password_too_short')]);
    await expect(page.locator('#own-form-alert').textContent()).resolves.toBe('Please correct the details marked below.');
    await expect(page.locator('#email').getAttribute('aria-invalid')).resolves.toBe('true');
    // Focus goes to the first field to correct.
    await expect(page.locator('#email:focus').count()).resolves.toBe(1);
    await j.shot('refused-on-submit');
    expect(page.url()).toBe(`${j.stack.bffUrl}/`);
    expect(j.stack.emulator.state.members).toEqual([]);
  });

  it('shows a MydexID that is already taken at Mydex beside the MydexID field', async () => {
    const j = await begin('taken-mydexid');
    const { page } = j;
    await j.openSpa();
    await registerWithMydex(j, { mydexid: 'mia', email: 'mia@example.org', password: 'mia password 1', privateKey: 'mia private key' });
    await j.shot('first-member-registered');

    // Another person picks the same MydexID in other letter case: only Mydex can tell it is taken.
    j.allowHttpError('/v1/registrations', 409);
    await fillOwnForm(page, { mydexid: 'MIA', email: 'someone.else@example.org', password: 'another password' });
    await page.locator('#mydexid:not([aria-invalid])').waitFor();
    await page.locator('#own-form').getByRole('button', { name: 'Register' }).click();
    await page.locator('#mydexid-errors li').first().waitFor();
    expect(await fieldErrors(page, 'mydexid')).toEqual([ruleMessage('mydexid', 'mydexid_taken')]);
    expect(await fieldErrors(page, 'email')).toEqual([]);
    await expect(page.locator('#mydexid').getAttribute('aria-invalid')).resolves.toBe('true');
    await expect(page.locator('#own-form-alert').textContent()).resolves.toBe('Please correct the detail marked below.');
    await j.shot('mydexid-taken');

    // Choosing another MydexID clears Mydex's verdict.
    await page.locator('#mydexid').fill('MIA2');
    await page.locator('#mydexid:not([aria-invalid])').waitFor();
    expect(await fieldErrors(page, 'mydexid')).toEqual([]);
    await j.shot('another-mydexid');
    expect(j.stack.emulator.state.members.map((m) => m.mydexid)).toEqual(['mia']);
  });

  it('registers with our form, then connects the PDS right away with no login step, and shows its permissions', async () => {
    const j = await begin('own-form-connect-without-login');
    const { page } = j;
    const member = { mydexid: 'mia', email: 'mia@example.org', password: 'mia password 1', privateKey: 'mia private key' };
    await j.openSpa();
    await registerWithOwnForm(j, member);
    await page.getByText('Registration complete', { exact: false }).waitFor();
    await page.getByText('You registered just now: you can connect your PDS without logging in.').waitFor();
    await j.shot('registered-connect-offered');

    await page.getByRole('button', { name: 'Connect my PDS' }).click();
    await page.waitForURL(onEmulator(j));
    // Mydex's agreement at once: no login page (the Private Key form left the member logged in at Mydex [I]).
    await page.getByRole('heading', { name: 'Data Sharing Agreement' }).waitFor();
    await j.shot('mydex-dssa');
    await page.getByLabel('Private key').fill(member.privateKey);
    await page.getByRole('button', { name: 'Approve and connect' }).click();

    await backOnSpa(j);
    await page.locator('#connection-panel:not([hidden])').waitFor();
    await expect(page.getByRole('status').filter({ hasText: 'Your Personal Data Store is connected.' }).count()).resolves.toBe(1);
    const rows = await page
      .locator('#permissions-body tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((cell) => (cell.textContent ?? '').trim())));
    expect(rows).toEqual([
      ['Personal detailsfield_ds_personal_details', 'Yes (automatic)', 'No', '—'],
      ['Contact detailsfield_ds_contact_details', 'Yes (automatic)', 'Yes (on request)', '—'],
    ]);
    await expect(page.locator('#connection-id').textContent()).resolves.toBe(j.stack.emulator.state.connections[0]?.connectionId);
    await expect(page.getByRole('button', { name: 'Connect my PDS' }).isVisible()).resolves.toBe(false);
    // Still no session at the BFF: the registration's binding did it all.
    await expect(page.locator('#session-details').isVisible()).resolves.toBe(false);
    await j.shot('connected-permissions');
  });

  it('logs in, shows the session, connects the PDS through the DSSA, shows its permissions and logs out', async () => {
    const j = await begin('login-connect-logout');
    const { page } = j;
    const member = { mydexid: 'leo', email: 'leo@example.org', password: 'leo password 1', privateKey: 'leo private key' };
    await j.openSpa();
    await registerWithOwnForm(j, member);
    await page.getByText('Registration complete', { exact: false }).waitFor();
    await j.shot('registered');

    await page.getByRole('button', { name: 'Log in with your MydexID' }).click();
    await page.waitForURL(onEmulator(j));
    await page.getByRole('heading', { name: 'Log in with your MydexID' }).waitFor();
    await j.shot('mydex-login');
    await page.getByLabel('MydexID').fill(member.mydexid);
    await page.getByLabel('Password').fill(member.password);
    await page.getByRole('button', { name: 'Log in' }).click();

    await backOnSpa(j);
    await page.getByText('You are logged in as leo.').waitFor();
    await expect(page.locator('#session-connected').textContent()).resolves.toBe('No');
    await expect(page.locator('#session-sub').textContent()).resolves.toMatch(/^[0-9a-f]{64}$/);
    await j.shot('session');

    await page.getByRole('button', { name: 'Connect my PDS' }).click();
    await page.waitForURL(onEmulator(j));
    await page.getByRole('heading', { name: 'Data Sharing Agreement' }).waitFor();
    await j.shot('mydex-dssa');
    await page.getByLabel('Private key').fill(member.privateKey);
    await page.getByRole('button', { name: 'Approve and connect' }).click();

    await backOnSpa(j);
    await page.locator('#connection-panel:not([hidden])').waitFor();
    await expect(page.locator('#session-connected').textContent()).resolves.toBe('Yes');
    const connection = j.stack.emulator.state.connections[0];
    expect(connection).toBeDefined();
    await expect(page.locator('#connection-id').textContent()).resolves.toBe(connection?.connectionId);
    await expect(page.getByRole('status').filter({ hasText: 'Your Personal Data Store is connected.' }).count()).resolves.toBe(1);
    // The emulator's agreement (version 1): personal details read automatically, contact details read
    // automatically and written on request.
    const rows = await page
      .locator('#permissions-body tr')
      .evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((cell) => (cell.textContent ?? '').trim())));
    expect(rows).toEqual([
      ['Personal detailsfield_ds_personal_details', 'Yes (automatic)', 'No', '—'],
      ['Contact detailsfield_ds_contact_details', 'Yes (automatic)', 'Yes (on request)', '—'],
    ]);
    await expect(page.getByRole('button', { name: 'Connect my PDS' }).isVisible()).resolves.toBe(false);
    await j.shot('connected-permissions');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForURL(onEmulator(j));
    await page.getByRole('heading', { name: 'Log out of Mydex' }).waitFor();
    await j.shot('mydex-logout');
    await page.getByRole('button', { name: 'Log out' }).click();
    await backOnSpa(j);
    await page.getByText('You are not logged in.').waitFor();
    await expect(page.getByRole('button', { name: 'Log in with your MydexID' }).isVisible()).resolves.toBe(true);
    await j.shot('logged-out');
  });
});
