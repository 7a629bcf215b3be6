import type Router from '@koa/router';
import type { Context } from 'koa';
import type { InteractionDetails } from 'oidc-provider';
import { readForm } from './http-body.js';
import { checkbox, errorSummary, escapeHtml, form, input, page, sendHtml, type FieldError } from './html.js';
import { checkConfirmation, checkNewMember, checkPrivateKeyWithPassword } from './member-rules.js';
import { PDX_SCOPE } from './oidc.js';
import { logIn, type EmulatorRuntime } from './runtime.js';
import { hashSecret, verifySecret } from './secrets.js';

/**
 * Mydex's Login and Consent App (LaCa): the login form, and with `action=register` the registration
 * form (email pre-filled from `email`). Consent is never asked: the grant is made automatically for
 * the configured client (see oidc.ts) [I]. The registration form has no Multi-Factor Authentication
 * step: Mydex's page says members may set up MFA devices in that form [S]; the emulator leaves it out,
 * so what that step asks is not emulated [I].
 */
export function registerLacaRoutes(router: Router, runtime: EmulatorRuntime): void {
  const { provider, store } = runtime;

  const details = (ctx: Context) => provider.interactionDetails(ctx.req, ctx.res);

  /** Ends the interaction: oidc-provider continues the authorization request and redirects to the client. */
  const finish = async (ctx: Context, result: Parameters<typeof provider.interactionResult>[2]) => {
    const location = await provider.interactionResult(ctx.req, ctx.res, result, { mergeWithLastSubmission: false });
    ctx.status = 303;
    ctx.redirect(location);
  };

  router.get('/interaction/:uid', async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name === 'consent') {
      // loadExistingGrant grants every member scope, so only a scope no member may grant is left.
      const missing = (interaction.prompt.details.missingOIDCScope as string[] | undefined) ?? [];
      await finish(ctx, {
        error: 'access_denied',
        error_description: missing.includes(PDX_SCOPE) ? `${PDX_SCOPE} is for client credentials only` : 'consent refused',
      });
      return;
    }
    const view = ctx.query.view === 'login' || ctx.query.view === 'register' ? ctx.query.view : undefined;
    const register = view === 'register' || (view === undefined && interaction.params.action === 'register');
    sendHtml(
      ctx,
      200,
      register
        ? registrationPage(interaction, { email: typeof interaction.params.email === 'string' ? interaction.params.email : '' }, [])
        : loginPage(interaction, '', []),
    );
  });

  router.post('/interaction/:uid/login', async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') ctx.throw(400, 'This step is not a login.');
    const body = await readForm(ctx);
    const mydexid = (body.mydexid ?? '').trim();
    // Trimming the login password is assumed [I] (the page says Mydex trims the registration fields).
    const password = (body.password ?? '').trim();
    // MydexIDs are unique case-insensitively, so login accepts any case [I].
    const member = mydexid === '' ? undefined : store.memberByMydexid(mydexid);
    if (!member || !(await verifySecret(password, member.passwordHash))) {
      sendHtml(ctx, 400, loginPage(interaction, mydexid, [{ field: 'password', message: 'The MydexID or password is incorrect.' }]));
      return;
    }
    logIn(ctx, runtime, member);
    runtime.log(`LaCa: ${member.mydexid} logged in`);
    await finish(ctx, { login: { accountId: member.sub } });
  });

  router.post('/interaction/:uid/register', async (ctx) => {
    const interaction = await details(ctx);
    if (interaction.prompt.name !== 'login') ctx.throw(400, 'This step is not a registration.');
    const body = await readForm(ctx);
    const termsAccepted = body.termsAccepted === 'yes';
    const { details: member, errors } = checkNewMember(body, store);
    const keyErrors = checkPrivateKeyWithPassword({
      mydexid: member.mydexid,
      password: member.password,
      privateKey: body.privateKey,
      termsAccepted,
    });
    const all: FieldError[] = [...errors, ...keyErrors, ...checkConfirmation(body.privateKey, body.privateKeyConfirmation)];
    if (all.length > 0) {
      // Entered values stay, secrets excepted.
      sendHtml(ctx, 400, registrationPage(interaction, { mydexid: member.mydexid, email: member.email, termsAccepted }, all));
      return;
    }
    const created = store.addMember({
      mydexid: member.mydexid,
      email: member.email,
      passwordHash: await hashSecret(member.password),
      // Trimmed like the rules see it [I]: the page says Mydex trims the registration fields, not the private key.
      privateKeyHash: await hashSecret(String(body.privateKey).trim()),
      registeredThrough: 'laca',
    });
    logIn(ctx, runtime, created);
    runtime.log(`LaCa: registered ${created.mydexid} (uid ${created.uid})`);
    await finish(ctx, { login: { accountId: created.sub } });
  });
}

function loginPage(interaction: InteractionDetails, mydexid: string, errors: FieldError[]): string {
  return page(
    'Log in with your MydexID',
    `${errorSummary(errors)}
${form(
  `/interaction/${interaction.uid}/login`,
  `${input({ name: 'mydexid', label: 'MydexID', value: mydexid, autocomplete: 'username', errors })}
${input({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', errors })}`,
  'Log in',
)}
<p>No MydexID yet? <a href="/interaction/${escapeHtml(interaction.uid)}?view=register">Register</a></p>`,
  );
}

interface RegistrationValues {
  mydexid?: string;
  email?: string;
  termsAccepted?: boolean;
}

function registrationPage(interaction: InteractionDetails, values: RegistrationValues, errors: FieldError[]): string {
  return page(
    'Register for a MydexID',
    `${errorSummary(errors)}
${form(
  `/interaction/${interaction.uid}/register`,
  `${input({ name: 'mydexid', label: 'MydexID', value: values.mydexid ?? '', autocomplete: 'username', hint: '3 to 60 letters and digits, not only digits.', errors })}
${input({ name: 'email', label: 'Email address', type: 'email', value: values.email ?? '', autocomplete: 'email', errors })}
${input({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: 'At least 8 characters, not your MydexID.', errors })}
${input({ name: 'privateKey', label: 'Private key', type: 'password', autocomplete: 'off', hint: 'It encrypts your Personal Data Store. 8 to 128 characters, not your MydexID or password. Mydex cannot recover it.', errors })}
${input({ name: 'privateKeyConfirmation', label: 'Confirm private key', type: 'password', autocomplete: 'off', errors })}
${checkbox({ name: 'termsAccepted', label: 'I accept the Mydex terms of service', checked: values.termsAccepted === true, errors })}`,
  'Register',
)}
<p>Already have a MydexID? <a href="/interaction/${escapeHtml(interaction.uid)}?view=login">Log in</a></p>`,
  );
}
