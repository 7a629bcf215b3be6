// The demo page: plain DOM, no framework. Every text from the server goes in with textContent, never
// innerHTML. Every BFF call goes through the typed client (clients/typescript, bundled into client.js):
// the page is served by the BFF itself, so the calls are same-origin and the HttpOnly session cookie
// travels with them; the client adds X-CSRF: 1 to POSTs and throws a ProblemError for every refusal.
import { authorizeUrl, createBffClient, ok, ProblemError } from './client.js';

const bff = createBffClient({ baseUrl: location.origin, mode: 'web' });

/**
 * Where the browser goes to register or log in with Mydex: a top-level navigation (not fetch), because
 * the BFF answers with a redirect to Mydex and binds the OIDC transaction to this browser with a cookie.
 */
const mydexUrl = (intent, email) => authorizeUrl(location.origin, { intent, client: 'web', returnTo: '/', email });

const FIELDS = ['mydexid', 'email', 'password'];
/**
 * Set (in this tab) when our own form's registration came back completed: the BFF then lets this
 * browser connect the PDS for a while without logging in (its HttpOnly registration cookie). Not a
 * secret, only a hint to ask GET /v1/connections/me when there is no session.
 */
const REGISTERED_KEY = 'bff-demo-registered';
/** How long the member may pause typing before the details are checked. */
const CHECK_DELAY_MS = 250;

/** Codes the BFF puts in `?error=` when it sends the browser back here (the rest get a generic text). */
const LANDING_ERRORS = {
  registration_not_found: 'We could not find that registration. Please start again.',
  access_denied: 'You cancelled at Mydex, so nothing changed.',
  state_invalid: 'That sign-in link is not valid. Please start again.',
  state_reused: 'That sign-in link was already used. Please start again.',
  transaction_expired: 'That sign-in took too long and expired. Please start again.',
  browser_mismatch: 'That sign-in was started in another browser. Please start again here.',
  upstream_unavailable: 'Mydex is not reachable just now. Please try again in a moment.',
};

const $ = (id) => {
  const element = document.getElementById(id);
  if (element === null) throw new Error(`The page has no #${id}`);
  return element;
};

function say(id, text) {
  $(id).textContent = text ?? '';
}

function showNotice(text) {
  say('notice', text);
}

function showAlert(text) {
  say('alert', text);
}

function formatDate(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

function groupByField(errors) {
  const grouped = {};
  for (const error of errors ?? []) (grouped[error.field] ??= []).push(error);
  return grouped;
}

// ---------------------------------------------------------------------------------------------
// Coming back from Mydex: the BFF redirects here with a few query parameters.

async function readLanding() {
  if (location.search === '') return {};
  const query = new URLSearchParams(location.search);
  // Drop the parameters so a reload does not announce the same thing again.
  history.replaceState(null, '', location.pathname);

  const error = query.get('error');
  if (error) showAlert(LANDING_ERRORS[error] ?? `Mydex could not sign you in (${error}). Please try again.`);

  const registrationId = query.get('registration');
  if (registrationId) {
    let status = query.get('status');
    try {
      status = (await ok(bff.GET('/v1/registrations/{id}', { params: { path: { id: registrationId } } }))).status;
    } catch {
      // The query's status is what the BFF said a moment ago; good enough to show.
    }
    if (status === 'completed') {
      sessionStorage.setItem(REGISTERED_KEY, registrationId);
      showNotice(
        `Registration complete: your MydexID and Personal Data Store are ready. Connect your PDS now, or log in. (Registration ${registrationId})`,
      );
    } else {
      showAlert(`Your registration is not complete (status: ${status ?? 'unknown'}). Please try again. (Registration ${registrationId})`);
    }
  }

  // Back from Mydex's Data Sharing Agreement: the outcome is whatever GET /v1/connections/me says.
  return { connectionReturned: query.has('connection') };
}

// ---------------------------------------------------------------------------------------------
// The session and the PDS connection.

/** Shows the session and, when connected, the connection; answers the connection (or undefined). */
async function loadSession() {
  const panel = $('session-panel');
  panel.setAttribute('aria-busy', 'true');
  try {
    const session = await ok(bff.GET('/v1/session'));
    renderSession(session);
    return session.connected ? await loadConnection() : undefined;
  } catch (error) {
    if (error instanceof ProblemError && error.status === 401) {
      renderLoggedOut();
      return await loadRegisteredConnection();
    } else {
      say('session-state', 'We could not check your session.');
      showAlert(error.message);
    }
    return undefined;
  } finally {
    panel.setAttribute('aria-busy', 'false');
  }
}

function renderLoggedOut() {
  say('session-state', 'You are not logged in.');
  $('session-details').hidden = true;
  $('connection-panel').hidden = true;
  $('login-button').hidden = false;
  $('connect-button').hidden = true;
  $('logout-button').hidden = true;
}

function renderSession(session) {
  const mydexid = session.member?.mydexid ?? null;
  say('session-state', mydexid ? `You are logged in as ${mydexid}.` : 'You are logged in.');
  say('session-mydexid', mydexid ?? '—');
  say('session-sub', session.member?.sub ?? '—');
  say('session-expires', formatDate(session.expiresAt));
  say('session-connected', session.connected ? 'Yes' : 'No');
  $('session-details').hidden = false;
  $('login-button').hidden = true;
  $('connect-button').hidden = session.connected === true;
  $('logout-button').hidden = false;
}

/**
 * Just registered with our form in this browser: no session, but the BFF accepts the registration's
 * cookie on the connection routes for a while (REGISTRATION_CONNECT_WINDOW_SECONDS). Answers the
 * connection, or undefined when the window has ended (then the member logs in as usual).
 */
async function loadRegisteredConnection() {
  if (sessionStorage.getItem(REGISTERED_KEY) === null) return undefined;
  let connection;
  try {
    connection = await ok(bff.GET('/v1/connections/me'));
  } catch {
    sessionStorage.removeItem(REGISTERED_KEY);
    return undefined;
  }
  say(
    'session-state',
    connection.connected
      ? 'You registered just now and your PDS is connected. Log in to see your session.'
      : 'You registered just now: you can connect your PDS without logging in.',
  );
  $('connect-button').hidden = connection.connected === true;
  return renderConnection(connection);
}

async function loadConnection() {
  return renderConnection(await ok(bff.GET('/v1/connections/me')));
}

function renderConnection(connection) {
  if (!connection.connected) {
    $('connection-panel').hidden = true;
    return connection;
  }
  say('connection-id', connection.connectionId ?? '—');
  say('connection-version', connection.version === undefined || connection.version === null ? '—' : String(connection.version));
  say('connection-at', formatDate(connection.connectedAt));
  renderPermissions(connection.permissions);
  $('connection-panel').hidden = false;
  // A newer agreement is configured: the same button starts the re-approval at Mydex.
  if (connection.updateAvailable) {
    $('connect-button').textContent = 'Review the updated agreement';
    $('connect-button').hidden = false;
  }
  return connection;
}

/** `field_ds_personal_details` → `Personal details`. */
function datasetLabel(name) {
  const words = name
    .replace(/^field_(ds_)?/, '')
    .replace(/^ds_/, '')
    .replaceAll('_', ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

const STYLES = { automatic: 'automatic', on_request: 'on request' };

/** `true` + `automatic` → "Yes (automatic)". */
function grantText(granted, style) {
  if (granted === undefined || granted === null) return '—';
  if (!granted) return 'No';
  return style && STYLES[style] ? `Yes (${STYLES[style]})` : 'Yes';
}

function renderPermissions(permissions) {
  const body = $('permissions-body');
  body.replaceChildren();
  const entries = permissions && typeof permissions === 'object' ? Object.entries(permissions) : [];
  if (entries.length === 0) {
    const row = body.insertRow();
    const cell = row.insertCell();
    cell.colSpan = 4;
    cell.textContent = 'No datasets are shared.';
    return;
  }
  for (const [dataset, grant] of entries) {
    const row = body.insertRow();
    const heading = document.createElement('th');
    heading.scope = 'row';
    heading.textContent = datasetLabel(dataset);
    const raw = document.createElement('code');
    raw.textContent = dataset;
    heading.append(document.createElement('br'), raw);
    row.append(heading);
    row.insertCell().textContent = grantText(grant?.read, grant?.readStyle);
    row.insertCell().textContent = grantText(grant?.write, grant?.writeStyle);
    const fields = grant?.fields && typeof grant.fields === 'object' ? Object.keys(grant.fields) : [];
    row.insertCell().textContent = fields.length === 0 ? '—' : fields.map(datasetLabel).join(', ');
  }
}

function wireSessionButtons() {
  $('login-button').addEventListener('click', () => {
    location.assign(mydexUrl('login'));
  });

  $('connect-button').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    showAlert('');
    try {
      const { url } = await ok(bff.POST('/v1/connections', { body: {} }));
      showNotice('Taking you to Mydex to review the data sharing agreement…');
      location.assign(url);
    } catch (error) {
      button.disabled = false;
      if (error instanceof ProblemError && error.code === 'already_connected') {
        showNotice('Your Personal Data Store is already connected.');
        await loadSession();
      } else if (error instanceof ProblemError && error.status === 401) {
        sessionStorage.removeItem(REGISTERED_KEY);
        renderLoggedOut();
        showAlert('Your session has ended. Please log in again.');
      } else {
        showAlert(error.message);
      }
    }
  });

  $('logout-button').addEventListener('click', async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    showAlert('');
    sessionStorage.removeItem(REGISTERED_KEY);
    try {
      const { endSessionUrl } = await ok(bff.POST('/v1/session/logout', { body: {} }));
      // Mydex ends its own session too, then sends the browser back here.
      location.assign(endSessionUrl || '/');
    } catch (error) {
      button.disabled = false;
      if (error instanceof ProblemError && error.status === 401) renderLoggedOut();
      else showAlert(error.message);
    }
  });
}

// ---------------------------------------------------------------------------------------------
// Register with Mydex (OIDC delegation): Mydex's form, optionally with the email filled in.

function wireOidcRegistration() {
  $('oidc-register-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const email = $('oidc-email').value.trim();
    location.assign(mydexUrl('register', email || undefined));
  });
}

// ---------------------------------------------------------------------------------------------
// Register with our own form: live checks as the member types, each message beside its field.

function wireOwnForm() {
  const form = $('own-form');
  const input = (field) => form.elements.namedItem(field);
  /** Fields the member has typed in (or everything, after a submit): only those show errors. */
  const touched = new Set();
  /** The latest live verdict, by field. */
  let checked = {};
  /** Errors only Mydex can find (taken MydexID or email), kept while the field keeps that value. */
  let fromSubmit = {};
  let checkRun = 0;
  let timer;

  const values = () => Object.fromEntries(FIELDS.map((field) => [field, input(field).value]));

  function render() {
    for (const field of FIELDS) {
      const errors = touched.has(field) ? [...(checked[field] ?? [])] : [];
      const pinned = fromSubmit[field];
      if (pinned && pinned.value === input(field).value) {
        for (const error of pinned.errors) if (!errors.some((e) => e.code === error.code)) errors.push(error);
      }
      const list = $(`${field}-errors`);
      list.replaceChildren(
        ...errors.map((error) => {
          const item = document.createElement('li');
          item.textContent = error.message;
          item.dataset.code = error.code;
          return item;
        }),
      );
      if (errors.length > 0) input(field).setAttribute('aria-invalid', 'true');
      else input(field).removeAttribute('aria-invalid');
    }
  }

  async function check() {
    const run = ++checkRun;
    try {
      const verdict = await ok(bff.POST('/v1/validation/registration', { body: values() }));
      if (run !== checkRun) return; // a newer check is on its way
      checked = groupByField(verdict.errors);
      say('own-form-status', '');
      render();
    } catch (error) {
      if (run === checkRun) say('own-form-status', `Your details could not be checked just now (${error.message}).`);
    }
  }

  form.addEventListener('input', (event) => {
    const field = event.target.name;
    if (!FIELDS.includes(field)) return;
    touched.add(field);
    clearTimeout(timer);
    timer = setTimeout(check, CHECK_DELAY_MS);
  });

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearTimeout(timer);
    checkRun += 1; // ignore any live check still in flight
    FIELDS.forEach((field) => touched.add(field));
    const details = values();
    const button = $('own-form-submit');
    button.disabled = true;
    say('own-form-alert', '');
    say('own-form-status', 'Sending your details to Mydex…');
    try {
      const created = await ok(bff.POST('/v1/registrations', { body: { ...details, returnTo: '/' } }));
      say('own-form-status', 'Taking you to Mydex to create your Private Key…');
      location.assign(created.privateKeyUrl);
    } catch (error) {
      button.disabled = false;
      say('own-form-status', '');
      const errors = error instanceof ProblemError ? error.errors.filter((e) => FIELDS.includes(e.field)) : [];
      if (errors.length > 0) {
        checked = {};
        fromSubmit = Object.fromEntries(
          Object.entries(groupByField(errors)).map(([field, list]) => [field, { value: details[field], errors: list }]),
        );
        render();
        say('own-form-alert', errors.length === 1 ? 'Please correct the detail marked below.' : 'Please correct the details marked below.');
        input(errors[0].field).focus();
      } else {
        say('own-form-alert', error.message);
      }
    }
  });
}

// ---------------------------------------------------------------------------------------------

wireSessionButtons();
wireOidcRegistration();
wireOwnForm();
try {
  const landing = await readLanding();
  const connection = await loadSession();
  if (landing.connectionReturned) {
    if (connection?.connected) showNotice('Your Personal Data Store is connected.');
    else showAlert('Your Personal Data Store was not connected. You can try again.');
  }
} finally {
  // Tests (and curious people) can tell when the first render is done.
  document.body.dataset.ready = 'true';
}
