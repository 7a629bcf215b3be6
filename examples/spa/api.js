// The BFF's HTTP API as this page uses it. The page is served by the BFF itself, so every call is
// same-origin and the HttpOnly session cookie travels with it; the page never sees the cookie.

/** A problem+json answer (RFC 9457) or a network failure, with the stable `code` to switch on. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail ?? `The server answered ${status}.`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem ?? {};
  }

  get code() {
    return this.problem.code;
  }

  /** `[{ field, code, message }]`: one entry per failed rule. */
  get fieldErrors() {
    return Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

async function call(method, path, body) {
  const headers = { accept: 'application/json, application/problem+json' };
  // The BFF refuses a state-changing request made with the session cookie unless it carries X-CSRF.
  if (method !== 'GET') headers['x-csrf'] = '1';
  if (body !== undefined) headers['content-type'] = 'application/json';
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'same-origin',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, { code: 'network_error', detail: 'The server could not be reached. Check your connection and try again.' });
  }
  const type = response.headers.get('content-type') ?? '';
  const data = type.includes('json') ? await response.json().catch(() => undefined) : undefined;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

export const api = {
  checkRegistration: (details) => call('POST', '/v1/validation/registration', details),
  register: (details) => call('POST', '/v1/registrations', details),
  registration: (id) => call('GET', `/v1/registrations/${encodeURIComponent(id)}`),
  session: () => call('GET', '/v1/session'),
  logout: () => call('POST', '/v1/session/logout', {}),
  connect: () => call('POST', '/v1/connections', {}),
  connection: () => call('GET', '/v1/connections/me'),
};

/**
 * Where the browser goes to register or log in with Mydex: a top-level navigation (not fetch), because
 * the BFF answers with a redirect to Mydex and binds the OIDC transaction to this browser with a cookie.
 */
export function authorizeUrl(intent, email) {
  const query = new URLSearchParams({ intent, client: 'web', returnTo: '/' });
  if (email) query.set('email', email);
  return `/v1/auth/oidc/authorize?${query}`;
}
