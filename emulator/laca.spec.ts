import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ruleFor, type RuleCode } from '../src/validation/rule-catalogue.js';
import { startEmulator, type RunningEmulator } from './emulator.js';
import { fieldErrors, hasLabelFor, inputTag, jwtClaims, pageText } from './testing/html-inspection.js';
import {
  authorizationRequest,
  codeFrom,
  completeLogin,
  exchangeCode,
  lacaRegistrationFields,
  newMember,
  registerThroughLaca,
  userinfo,
  type NewMember,
} from './testing/journeys.js';
import { inputValue, ScriptedBrowser, type Landing } from './testing/scripted-browser.js';

const REDIRECT_URI = 'http://127.0.0.1:3998/v1/auth/oidc/callback';
const atRedirectUri = (url: URL) => url.toString().startsWith(REDIRECT_URI);

let emulator: RunningEmulator;
/** A member that exists before the rule tests run (for the uniqueness rules). */
let existing: NewMember;

beforeAll(async () => {
  emulator = await startEmulator({ port: 0, redirectUris: [REDIRECT_URI] });
  existing = newMember('taken');
  await registerThroughLaca(new ScriptedBrowser(), authorizationRequest(emulator, { action: 'register' }).url, existing, {
    stopAt: atRedirectUri,
  });
});

afterAll(async () => {
  await emulator.close();
});

async function registrationForm(email?: string): Promise<{ browser: ScriptedBrowser; page: Landing }> {
  const browser = new ScriptedBrowser();
  const page = await browser.navigate(authorizationRequest(emulator, { action: 'register', email }).url);
  return { browser, page };
}

describe('LaCa pages', () => {
  it('shows the login form (MydexID and password, labelled) without action=register', async () => {
    const page = await new ScriptedBrowser().navigate(authorizationRequest(emulator).url);
    expect(page.status).toBe(200);
    expect(page.body).toContain('Log in with your MydexID');
    for (const id of ['mydexid', 'password']) expect(hasLabelFor(page.body, id)).toBe(true);
    expect(inputTag(page.body, 'privateKey')).toBeUndefined();
  });

  it('shows the registration form with action=register, the email pre-filled from the email parameter', async () => {
    const { page } = await registrationForm('prefilled@example.org');
    expect(page.status).toBe(200);
    expect(page.body).toContain('Register for a MydexID');
    for (const id of ['mydexid', 'email', 'password', 'privateKey', 'privateKeyConfirmation', 'termsAccepted']) {
      expect(hasLabelFor(page.body, id)).toBe(true);
    }
    expect(inputValue(page.body, 'email')).toBe('prefilled@example.org');
    expect(inputTag(page.body, 'termsAccepted')).toContain('type="checkbox"');
  });

  it('escapes what the email parameter carries', async () => {
    const { page } = await registrationForm('"><script>alert(1)</script>');
    expect(page.body).not.toContain('<script>alert(1)');
    expect(inputValue(page.body, 'email')).toBe('"><script>alert(1)</script>');
  });

  it('refuses a form posted without the interaction cookie (another browser)', async () => {
    const { page } = await registrationForm();
    const member = newMember('nocookie');
    const other = new ScriptedBrowser();
    const landing = await other.submit(page, lacaRegistrationFields(member));
    expect(landing.status).toBe(400);
    expect(pageText(landing.body)).toContain('expired or was started in another browser');
    expect(emulator.state.members.some((m) => m.mydexid === member.mydexid)).toBe(false);
  });
});

describe('LaCa registration rules: errors beside their fields, values kept except secrets', () => {
  const valid = (): Record<string, string | undefined> => lacaRegistrationFields(newMember('rules'));

  type Case = [string, (v: Record<string, string | undefined>) => Record<string, string | undefined>, string, RuleCode | null, string?];
  const cases: Case[] = [
    ['an empty MydexID', (v) => ({ ...v, mydexid: '   ' }), 'mydexid', 'required'],
    ['a MydexID that is not alphanumeric', (v) => ({ ...v, mydexid: 'not-alpha' }), 'mydexid', 'mydexid_not_alphanumeric'],
    ['a MydexID of digits only', (v) => ({ ...v, mydexid: '12345678' }), 'mydexid', 'mydexid_digits_only'],
    ['a MydexID of 2 characters', (v) => ({ ...v, mydexid: 'ab' }), 'mydexid', 'mydexid_length'],
    ['a MydexID of 61 characters', (v) => ({ ...v, mydexid: 'a'.repeat(61) }), 'mydexid', 'mydexid_length'],
    ['a MydexID in use (other case)', (v) => ({ ...v, mydexid: existing.mydexid.toUpperCase() }), 'mydexid', 'mydexid_taken'],
    ['an empty email', (v) => ({ ...v, email: '' }), 'email', 'required'],
    ['a malformed email', (v) => ({ ...v, email: 'not-an-email' }), 'email', 'email_invalid'],
    ['an email in use (other case)', (v) => ({ ...v, email: existing.email.toUpperCase() }), 'email', 'email_taken'],
    ['an empty password', (v) => ({ ...v, password: '' }), 'password', 'required'],
    ['a password equal to the MydexID', (v) => ({ ...v, password: v.mydexid }), 'password', 'password_same_as_mydexid'],
    ['a password of 7 characters', (v) => ({ ...v, password: 'abc1234' }), 'password', 'password_too_short'],
    ['an empty private key', (v) => ({ ...v, privateKey: '', privateKeyConfirmation: '' }), 'privateKey', 'required'],
    [
      'a private key equal to the MydexID',
      (v) => ({ ...v, privateKey: v.mydexid, privateKeyConfirmation: v.mydexid }),
      'privateKey',
      'private_key_same_as_mydexid',
    ],
    [
      'a private key equal to the password',
      (v) => ({ ...v, privateKey: v.password, privateKeyConfirmation: v.password }),
      'privateKey',
      'private_key_same_as_password',
    ],
    [
      'a private key of 7 characters',
      (v) => ({ ...v, privateKey: 'k234567', privateKeyConfirmation: 'k234567' }),
      'privateKey',
      'private_key_length',
    ],
    [
      'a private key of 129 characters',
      (v) => ({ ...v, privateKey: 'k'.repeat(129), privateKeyConfirmation: 'k'.repeat(129) }),
      'privateKey',
      'private_key_length',
    ],
    ['terms not accepted', (v) => ({ ...v, termsAccepted: undefined }), 'termsAccepted', 'terms_not_accepted'],
    [
      'a confirmation that differs',
      (v) => ({ ...v, privateKeyConfirmation: `${v.privateKey}x` }),
      'privateKeyConfirmation',
      null,
      'The two private keys do not match.',
    ],
  ];

  it.each(cases)('refuses %s', async (_label, change, field, code, message) => {
    const { browser, page } = await registrationForm();
    const values = change(valid());
    const landing = await browser.submit(page, values, { stopAt: atRedirectUri });
    expect(landing.status).toBe(400);
    const form = code === null ? null : field === 'privateKey' || field === 'termsAccepted' ? 'privateKey' : 'registration';
    const expected = message ?? ruleFor(form!, field, code!).message;
    expect(fieldErrors(landing.body, field)).toContain(expected);
    expect(inputTag(landing.body, field)).toContain('aria-invalid="true"');
    expect(landing.body).toContain('role="alert"');
    // Values stay, secrets excepted.
    if (field !== 'mydexid') expect(inputValue(landing.body, 'mydexid')).toBe(values.mydexid?.trim());
    if (field !== 'email') expect(inputValue(landing.body, 'email')).toBe(values.email);
    for (const secret of ['password', 'privateKey', 'privateKeyConfirmation']) expect(inputValue(landing.body, secret)).toBeUndefined();
    if (values.password && values.password !== values.mydexid) expect(landing.body).not.toContain(values.password);
    expect(emulator.state.members.some((m) => m.mydexid === values.mydexid)).toBe(false);
  });

  it('reports every failing rule at once, each beside its field', async () => {
    const { browser, page } = await registrationForm();
    const landing = await browser.submit(page, {
      mydexid: '123',
      email: 'bad',
      password: '123',
      privateKey: '',
      privateKeyConfirmation: '',
      termsAccepted: undefined,
    });
    expect(landing.status).toBe(400);
    expect(fieldErrors(landing.body, 'mydexid')).toEqual([ruleFor('registration', 'mydexid', 'mydexid_digits_only').message]);
    expect(fieldErrors(landing.body, 'email')).toEqual([ruleFor('registration', 'email', 'email_invalid').message]);
    expect(fieldErrors(landing.body, 'password')).toEqual([
      ruleFor('registration', 'password', 'password_same_as_mydexid').message,
      ruleFor('registration', 'password', 'password_too_short').message,
    ]);
    expect(fieldErrors(landing.body, 'privateKey')).toEqual([ruleFor('privateKey', 'privateKey', 'required').message]);
    expect(fieldErrors(landing.body, 'termsAccepted')).toEqual([ruleFor('privateKey', 'termsAccepted', 'terms_not_accepted').message]);
    expect(inputTag(landing.body, 'termsAccepted')).not.toContain('checked');
  });

  it('keeps the terms box ticked when it was ticked', async () => {
    const { browser, page } = await registrationForm();
    const landing = await browser.submit(page, { ...valid(), mydexid: 'ab' });
    expect(inputTag(landing.body, 'termsAccepted')).toContain(' checked');
  });

  it('lets the member correct the form and register on the second try', async () => {
    const { browser, page } = await registrationForm();
    const member = newMember('retry');
    const values = {
      mydexid: member.mydexid,
      email: member.email,
      password: member.password,
      privateKey: member.privateKey,
      privateKeyConfirmation: member.privateKey,
      termsAccepted: 'yes',
    };
    const failed = await browser.submit(page, { ...values, password: 'short' });
    expect(failed.status).toBe(400);
    const landing = await browser.submit(failed, values, { stopAt: atRedirectUri });
    expect(landing.url.searchParams.get('code')).toBeTruthy();
  });
});

describe('Must show: an OIDC client using PKCE completes action=register (email pre-filled) and a later login', () => {
  it('registers through the LaCa, exchanges the code by hand, then logs the same member in later', async () => {
    const member = newMember('journey');
    const browser = new ScriptedBrowser();
    const request = authorizationRequest(emulator, { action: 'register', email: member.email });

    // The registration form, with the email pre-filled.
    const form = await browser.navigate(request.url);
    expect(inputValue(form.body, 'email')).toBe(member.email);
    const back = await browser.submit(
      form,
      {
        mydexid: member.mydexid,
        password: member.password,
        privateKey: member.privateKey,
        privateKeyConfirmation: member.privateKey,
        termsAccepted: 'yes',
      },
      { stopAt: atRedirectUri },
    );
    const { code, state } = codeFrom(back);
    expect(state).toBe(request.state);
    expect(back.url.searchParams.get('iss')).toBe(emulator.issuer);
    const tokens = await exchangeCode(emulator, code, request);
    const sub = jwtClaims(tokens.id_token).sub as string;
    expect(sub).toMatch(/^[0-9a-f]{64}$/);
    expect(await userinfo(emulator, tokens.access_token)).toEqual({ sub, mydexid: member.mydexid, username: member.mydexid });
    const stored = emulator.state.members.find((m) => m.sub === sub);
    expect(stored).toMatchObject({ mydexid: member.mydexid, email: member.email, registeredThrough: 'laca' });

    // Later, in another browser: the login form, and the same sub.
    const later = authorizationRequest(emulator);
    const loggedIn = await completeLogin(
      new ScriptedBrowser(),
      later.url,
      { mydexid: member.mydexid.toUpperCase(), password: member.password },
      { stopAt: atRedirectUri },
    );
    const again = await exchangeCode(emulator, codeFrom(loggedIn).code, later);
    expect(jwtClaims(again.id_token).sub).toBe(sub);
    expect(await userinfo(emulator, again.access_token)).toMatchObject({ sub, mydexid: member.mydexid });
  });

  it('refuses a wrong password beside the field and keeps the MydexID', async () => {
    const browser = new ScriptedBrowser();
    const page = await browser.navigate(authorizationRequest(emulator).url);
    const landing = await browser.submit(page, { mydexid: existing.mydexid, password: 'wrong password' }, { stopAt: atRedirectUri });
    expect(landing.status).toBe(400);
    expect(fieldErrors(landing.body, 'password')).toEqual(['The MydexID or password is incorrect.']);
    expect(inputValue(landing.body, 'mydexid')).toBe(existing.mydexid);
    expect(inputValue(landing.body, 'password')).toBeUndefined();
  });

  it('refuses an unknown MydexID the same way as a wrong password', async () => {
    const browser = new ScriptedBrowser();
    const page = await browser.navigate(authorizationRequest(emulator).url);
    const landing = await browser.submit(page, { mydexid: 'nobodyhere', password: 'whatever123' }, { stopAt: atRedirectUri });
    expect(landing.status).toBe(400);
    expect(fieldErrors(landing.body, 'password')).toEqual(['The MydexID or password is incorrect.']);
  });
});
