import type Router from '@koa/router';
import { deliverCallback, requestedDatasets, type RequestedDataset } from './callback.js';
import { readForm } from './http-body.js';
import { checkbox, errorSummary, escapeHtml, form, input, page, sendExpired, sendHtml, type FieldError } from './html.js';
import { checkConfirmation, checkNewMember, checkPrivateKeyWithPassword } from './member-rules.js';
import { currentMember, logIn, type EmulatorRuntime } from './runtime.js';
import { hashSecret, verifySecret } from './secrets.js';
import type { ConnectionRequest, Member } from './store.js';

const STYLE_TEXT = { A: 'automatically', R: 'on request' } as const;

/**
 * The Data Sharing Agreement page, reached through the one-time URL `/api/connection(/update)`
 * answered: the member logs in if needed (as the MydexID the request names), sees the datasets asked
 * for, and approves by entering the private key [S]. A member already logged in at Mydex (LaCa or the
 * Private Key form in the same browser) skips the login [I]. Approval records the connection, sends the callback
 * (POST for a first connection, PUT for an update) and sends the browser to `return_to`. A First Time
 * Connection started without a MydexID lets whoever logs in, or registers here, approve it (Mydex's FTC
 * page says the MydexID may be unknown and the member logs in or registers [S]; the form is LaCa's [I]).
 */
export function registerDssaRoutes(router: Router, runtime: EmulatorRuntime): void {
  const { store } = runtime;

  const memberFor = (ctx: Parameters<typeof currentMember>[0], request: ConnectionRequest) => {
    const member = currentMember(ctx, runtime);
    if (request.mydexid === undefined) return member;
    return member && member.mydexid.toLowerCase() === request.mydexid.toLowerCase() ? member : undefined;
  };

  router.get('/dssa/:token', (ctx) => {
    const request = store.connectionRequestFor(ctx.params.token!);
    if (!request) return sendExpired(ctx);
    const member = memberFor(ctx, request);
    if (!member) return sendHtml(ctx, 200, loginPage(request, []));
    sendHtml(ctx, 200, agreementPage(request, member, []));
  });

  // Only for a First Time Connection that names no MydexID: the member may have none yet.
  router.get('/dssa/:token/register', (ctx) => {
    const request = store.connectionRequestFor(ctx.params.token!);
    if (!request || request.mydexid !== undefined) return sendExpired(ctx);
    sendHtml(ctx, 200, registrationPage(request, {}, []));
  });

  router.post('/dssa/:token/register', async (ctx) => {
    const request = store.connectionRequestFor(ctx.params.token!);
    if (!request || request.mydexid !== undefined) return sendExpired(ctx);
    const body = await readForm(ctx);
    const termsAccepted = body.termsAccepted === 'yes';
    const { details, errors } = checkNewMember(body, store);
    const all: FieldError[] = [
      ...errors,
      ...checkPrivateKeyWithPassword({ mydexid: details.mydexid, password: details.password, privateKey: body.privateKey, termsAccepted }),
      ...checkConfirmation(body.privateKey, body.privateKeyConfirmation),
    ];
    if (all.length > 0)
      return sendHtml(ctx, 400, registrationPage(request, { mydexid: details.mydexid, email: details.email, termsAccepted }, all));
    const created = store.addMember({
      mydexid: details.mydexid,
      email: details.email,
      passwordHash: await hashSecret(details.password),
      privateKeyHash: await hashSecret(String(body.privateKey).trim()),
      registeredThrough: 'laca',
    });
    logIn(ctx, runtime, created);
    runtime.log(`DSSA: registered ${created.mydexid} (uid ${created.uid}) to review an agreement`);
    ctx.status = 303;
    ctx.redirect(`/dssa/${request.token}`);
  });

  router.post('/dssa/:token/login', async (ctx) => {
    const request = store.connectionRequestFor(ctx.params.token!);
    if (!request) return sendExpired(ctx);
    const body = await readForm(ctx);
    const mydexid = (body.mydexid ?? '').trim();
    const member = mydexid === '' ? undefined : store.memberByMydexid(mydexid);
    const valid = member !== undefined && (await verifySecret((body.password ?? '').trim(), member.passwordHash));
    if (!valid) return sendHtml(ctx, 400, loginPage(request, [{ field: 'password', message: 'The MydexID or password is incorrect.' }]));
    if (request.mydexid !== undefined && member.mydexid.toLowerCase() !== request.mydexid.toLowerCase()) {
      return sendHtml(
        ctx,
        400,
        loginPage(request, [
          { field: 'mydexid', message: `This agreement is for the MydexID ${request.mydexid}. Log in with that MydexID.` },
        ]),
      );
    }
    logIn(ctx, runtime, member);
    ctx.status = 303;
    ctx.redirect(`/dssa/${request.token}`);
  });

  router.post('/dssa/:token/approve', async (ctx) => {
    const request = store.connectionRequestFor(ctx.params.token!);
    if (!request) return sendExpired(ctx);
    const member = memberFor(ctx, request);
    if (!member) return sendHtml(ctx, 401, loginPage(request, [{ field: 'mydexid', message: 'Log in to approve the agreement.' }]));
    const body = await readForm(ctx);
    const privateKey = (body.privateKey ?? '').trim(); // trimmed as at registration [I]
    if (privateKey === '')
      return sendHtml(ctx, 400, agreementPage(request, member, [{ field: 'privateKey', message: 'Enter your private key.' }]));
    if (!(await verifySecret(privateKey, member.privateKeyHash))) {
      return sendHtml(ctx, 400, agreementPage(request, member, [{ field: 'privateKey', message: 'The private key is incorrect.' }]));
    }
    store.completeConnectionRequest(request.token);
    const datasets = requestedDatasets(request.version);
    const connection = store.saveConnection(
      member,
      request,
      datasets.map((d) => d.dataset),
    );
    runtime.log(`DSSA: ${member.mydexid} approved connection ${connection.connectionId} (version ${connection.version})`);
    await deliverCallback(runtime, connection, request.kind === 'first' ? 'POST' : 'PUT', datasets);
    ctx.status = 303;
    ctx.redirect(request.returnTo);
  });
}

function loginPage(request: ConnectionRequest, errors: FieldError[]): string {
  const register =
    request.mydexid === undefined ? `\n<p>No MydexID yet? <a href="/dssa/${escapeHtml(request.token)}/register">Register</a></p>` : '';
  return page(
    'Log in to review the Data Sharing Agreement',
    `${errorSummary(errors)}
${form(
  `/dssa/${request.token}/login`,
  `${input({ name: 'mydexid', label: 'MydexID', value: request.mydexid ?? '', autocomplete: 'username', errors })}
${input({ name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password', errors })}`,
  'Log in',
)}${register}`,
  );
}

interface RegistrationValues {
  mydexid?: string;
  email?: string;
  termsAccepted?: boolean;
}

function registrationPage(request: ConnectionRequest, values: RegistrationValues, errors: FieldError[]): string {
  return page(
    'Register for a MydexID to review the Data Sharing Agreement',
    `${errorSummary(errors)}
${form(
  `/dssa/${request.token}/register`,
  `${input({ name: 'mydexid', label: 'MydexID', value: values.mydexid ?? '', autocomplete: 'username', hint: '3 to 60 letters and digits, not only digits.', errors })}
${input({ name: 'email', label: 'Email address', type: 'email', value: values.email ?? '', autocomplete: 'email', errors })}
${input({ name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password', hint: 'At least 8 characters, not your MydexID.', errors })}
${input({ name: 'privateKey', label: 'Private key', type: 'password', autocomplete: 'off', hint: 'It encrypts your Personal Data Store. 8 to 128 characters, not your MydexID or password. Mydex cannot recover it.', errors })}
${input({ name: 'privateKeyConfirmation', label: 'Confirm private key', type: 'password', autocomplete: 'off', errors })}
${checkbox({ name: 'termsAccepted', label: 'I accept the Mydex terms of service', checked: values.termsAccepted === true, errors })}`,
  'Register',
)}
<p>Already have a MydexID? <a href="/dssa/${escapeHtml(request.token)}">Log in</a></p>`,
  );
}

function datasetRows(datasets: RequestedDataset[]): string {
  return datasets
    .map((d) => {
      const access = [d.read ? `read ${STYLE_TEXT[d.read]}` : '', d.write ? `write ${STYLE_TEXT[d.write]}` : ''].filter(Boolean).join(', ');
      return `<tr><th scope="row">${escapeHtml(d.label)}</th><td><code>${escapeHtml(d.dataset)}</code></td><td>${escapeHtml(access)}</td></tr>`;
    })
    .join('');
}

function agreementPage(request: ConnectionRequest, member: Member, errors: FieldError[]): string {
  return page(
    request.kind === 'first' ? 'Data Sharing Agreement' : 'Updated Data Sharing Agreement',
    `<p>Connection ${escapeHtml(request.nid)} (agreement version ${request.version}) asks to use these datasets of your Personal Data Store, MydexID <strong>${escapeHtml(member.mydexid)}</strong>:</p>
<table><caption>Datasets requested</caption><thead><tr><th scope="col">Dataset</th><th scope="col">Identifier</th><th scope="col">Access</th></tr></thead>
<tbody>${datasetRows(requestedDatasets(request.version))}</tbody></table>
${errorSummary(errors)}
${form(
  `/dssa/${request.token}/approve`,
  input({
    name: 'privateKey',
    label: 'Private key',
    type: 'password',
    autocomplete: 'off',
    hint: 'Enter your private key to approve the agreement.',
    errors,
  }),
  'Approve and connect',
)}`,
  );
}
