import type Router from '@koa/router';
import { readForm } from './http-body.js';
import { checkbox, errorSummary, escapeHtml, form, input, page, sendExpired, sendHtml, type FieldError } from './html.js';
import { checkConfirmation, checkPrivateKeyWithPasswordHash } from './member-rules.js';
import { logIn, type EmulatorRuntime } from './runtime.js';
import { hashSecret } from './secrets.js';
import type { PendingRegistration } from './store.js';

/**
 * Mydex's Private Key form, reached through the URL `POST /api/pds` answered. Its rules and the
 * terms pass, then the member and PDS exist, the member is logged in at Mydex [I] and the browser goes to
 * `return_to` (with no query parameters added [I]).
 */
export function registerPrivateKeyFormRoutes(router: Router, runtime: EmulatorRuntime): void {
  const { store } = runtime;

  router.get('/private-key/:token', (ctx) => {
    const pending = store.pendingFor(ctx.params.token!);
    if (!pending) return sendExpired(ctx);
    sendHtml(ctx, 200, privateKeyPage(pending, false, []));
  });

  router.post('/private-key/:token', async (ctx) => {
    const pending = store.pendingFor(ctx.params.token!);
    if (!pending) return sendExpired(ctx);
    const body = await readForm(ctx);
    const termsAccepted = body.termsAccepted === 'yes';
    const errors: FieldError[] = [
      ...(await checkPrivateKeyWithPasswordHash({
        mydexid: pending.mydexid,
        passwordHash: pending.passwordHash,
        privateKey: body.privateKey,
        termsAccepted,
      })),
      ...checkConfirmation(body.privateKey, body.privateKeyConfirmation),
    ];
    if (errors.length > 0) return sendHtml(ctx, 400, privateKeyPage(pending, termsAccepted, errors));
    // Another registration may have taken the MydexID or email since /api/pds answered. What Mydex shows
    // then is not documented: this 409 page is the emulator's own [I].
    if (store.memberByMydexid(pending.mydexid) || store.memberByEmail(pending.email)) {
      store.completePending(pending.token);
      return sendHtml(
        ctx,
        409,
        page(
          'Registration not completed',
          '<p role="alert">This MydexID or email address was registered in the meantime. Go back to the app and register again.</p>',
        ),
      );
    }
    const member = store.addMember({
      mydexid: pending.mydexid,
      email: pending.email,
      passwordHash: pending.passwordHash,
      // Trimmed like the rules see it [I]: the page says Mydex trims the registration fields, not the private key.
      privateKeyHash: await hashSecret(String(body.privateKey).trim()),
      registeredThrough: 'pdx_api',
    });
    store.completePending(pending.token);
    // [I] Mydex's pages do not say that the Private Key form leaves the member logged in at Mydex; the
    // emulator does, so a First Time Connection right after it shows the DSSA without a login.
    logIn(ctx, runtime, member);
    runtime.log(`Private Key form: registered ${member.mydexid} (uid ${member.uid})`);
    ctx.status = 303;
    ctx.redirect(pending.returnTo);
  });
}

function privateKeyPage(pending: PendingRegistration, termsAccepted: boolean, errors: FieldError[]): string {
  return page(
    'Create your private key',
    `<p>You are registering the MydexID <strong>${escapeHtml(pending.mydexid)}</strong>. Your private key encrypts your Personal Data Store; only you know it and Mydex cannot recover it.</p>
${errorSummary(errors)}
${form(
  `/private-key/${pending.token}`,
  `${input({ name: 'privateKey', label: 'Private key', type: 'password', autocomplete: 'off', hint: '8 to 128 characters, not your MydexID or password.', errors })}
${input({ name: 'privateKeyConfirmation', label: 'Confirm private key', type: 'password', autocomplete: 'off', errors })}
${checkbox({ name: 'termsAccepted', label: 'I accept the Mydex terms of service', checked: termsAccepted, errors })}`,
  'Create my Personal Data Store',
)}`,
  );
}
