/**
 * Every problem `code` the BFF answers with: its HTTP status, its title, when it happens and what the
 * client should do. Frontends switch on the code; it never changes meaning. Feature modules add their
 * codes here so there is one catalogue: the problem `type` URL (`{PROBLEM_TYPE_BASE_URL}{code}`), the
 * pages at GET /errors and GET /errors/{code}, and the OpenAPI examples are all generated from it.
 * A new code needs all four fields (`when` and `action` are shown to integrators, in plain English).
 */
export const ERROR_CODES = {
  // request-level
  validation_failed: {
    status: 422,
    title: 'The request has invalid fields',
    when: 'One or more fields break a rule; `errors[]` lists each failure with its `field`, `code`, `params` and English `message`.',
    action:
      'Show each entry beside its field (translate by `code` and `params`), let the member correct them, and send again. GET /v1/validation/rules lists every rule.',
  },
  invalid_request: {
    status: 400,
    title: 'The request is not valid',
    when: 'The request is not valid for a reason no more specific code covers: a wrong query or field type, a URL with a broken percent-encoding, or a request that cannot be read as HTTP.',
    action: 'A programming error: check the request against openapi.yaml. Do not retry it unchanged.',
  },
  malformed_json: {
    status: 400,
    title: 'The body is not valid JSON',
    when: 'The body is not valid JSON, or is empty where JSON was announced.',
    action: 'Send a JSON body (JSON.stringify) with `Content-Type: application/json`.',
  },
  body_not_object: {
    status: 400,
    title: 'The body must be a JSON object',
    when: 'The body is JSON but not an object (an array, string, number, true or null), or there is no body.',
    action: 'Send the fields as one JSON object.',
  },
  unsupported_media_type: {
    status: 415,
    title: 'Unsupported content type',
    when: 'The `Content-Type` is not one the route accepts (most routes take only application/json).',
    action: 'Send `Content-Type: application/json` with a JSON body.',
  },
  payload_too_large: {
    status: 413,
    title: 'The body is too large',
    when: 'The body is larger than the route accepts (16 KiB on most routes).',
    action: 'Send only the documented fields; nothing a member types needs more.',
  },
  body_too_complex: {
    status: 413,
    title: 'The body has too many keys or is nested too deeply',
    when: 'The JSON body has too many keys and array items, or is nested too deeply.',
    action: 'Send only the documented fields, as a flat object.',
  },
  invalid_unicode: {
    status: 400,
    title: 'The request has text that is not valid Unicode',
    when: 'The body or a parameter is not valid UTF-8, or has a lone UTF-16 surrogate.',
    action: 'Encode text as UTF-8; do not split emoji or other surrogate pairs.',
  },
  request_header_fields_too_large: {
    status: 431,
    title: 'The request headers are too large',
    when: 'The request line and headers together are larger than the server accepts (16 KiB).',
    action: 'Send fewer or shorter headers; clear stale cookies for this site.',
  },
  request_timeout: {
    status: 408,
    title: 'The request was not received in time',
    when: "The whole request did not arrive within the server's time limit.",
    action: 'Retry on a working connection.',
  },
  uri_too_long: {
    status: 414,
    title: 'The URL is too long',
    when: 'A path segment is longer than any route accepts.',
    action: 'Check the URL; identifiers are short.',
  },
  not_found: {
    status: 404,
    title: 'Not found',
    when: 'No route answers this method and path (or the route is switched off in this deployment).',
    action: 'Check the path against openapi.yaml; `GET /errors` and the API docs list what exists.',
  },
  method_not_allowed: {
    status: 405,
    title: 'Method not allowed',
    when: 'The path exists, but not with this method; the `Allow` header lists the methods it takes.',
    action: 'Use a method from `Allow`.',
  },
  not_acceptable: {
    status: 406,
    title: 'Not acceptable',
    when: 'None of the media types in `Accept` can be produced.',
    action: 'Accept application/json (and application/problem+json for errors).',
  },
  rate_limited: {
    status: 429,
    title: 'Too many requests',
    when: 'Too many requests from this client (its address, or the signed-in member on member routes), or for registrations too many overall, in the current window.',
    action: 'Wait for the seconds in `Retry-After`, then retry; do not retry in a loop.',
  },
  unauthorized: {
    status: 401,
    title: 'Authentication required',
    when: 'The route needs credentials that were not sent or are wrong (for example `/metrics` without its token).',
    action: 'Send the documented credentials; members sign in through POST /v1/auth/oidc/authorize.',
  },
  forbidden: {
    status: 403,
    title: 'Forbidden',
    when: 'The request was understood but is not allowed.',
    action: 'Do not retry it; check that the client is meant to call this route.',
  },
  conflict: {
    status: 409,
    title: 'Conflict',
    when: 'The request conflicts with the current state of the resource.',
    action: 'Read the resource again, then decide whether to retry.',
  },
  internal_error: {
    status: 500,
    title: 'Internal server error',
    when: "Something failed on the BFF's side; the details are in its logs under the `requestId`.",
    action: 'Show a generic error and offer a retry later; quote the `requestId` when reporting it.',
  },
  service_unavailable: {
    status: 503,
    title: 'Service unavailable',
    when: 'The BFF cannot serve right now (starting up, shutting down, or a dependency is down).',
    action: 'Retry after the seconds in `Retry-After`.',
  },
  database_unavailable: {
    status: 503,
    title: 'The database is unavailable',
    when: "The BFF's database cannot be reached right now; nothing was changed.",
    action: 'Retry after the seconds in `Retry-After` (5).',
  },
  // registration
  return_to_not_allowed: {
    status: 400,
    title: 'returnTo is not an allowed address',
    when: "`returnTo`, `appRedirectUri` or `postLogoutRedirectUri` is not on the deployment's allowlist (FRONTEND_ORIGINS, NATIVE_REDIRECT_URIS), or leaves the origin once normalised.",
    action: 'Send an address on one of the configured origins or app redirect URIs, or leave it out for the default.',
  },
  // 409 for "already in use" is ours [I]: Mydex documents the messages, not the status it answers them with.
  mydexid_taken: {
    status: 409,
    title: 'The MydexID is already in use',
    when: 'Mydex says the MydexID is already in use (compared ignoring letter case).',
    action: 'Ask the member to choose another MydexID (the field error is in `errors[]`), or to log in if it is theirs.',
  },
  email_taken: {
    status: 409,
    title: 'The email address is already in use',
    when: 'Mydex says the email address already belongs to a member.',
    action: 'Offer to log in instead, or ask for another address (the field error is in `errors[]`).',
  },
  mydex_rejected: {
    status: 422,
    title: 'Mydex refused the registration',
    when: 'Mydex refused the request for a reason of its own; its message is in `mydexMessage`.',
    action: 'Show a generic error; the member may correct the details and try again.',
  },
  registration_not_found: {
    status: 404,
    title: 'No such registration',
    when: 'No registration has this id.',
    action: 'Check the id you kept from POST /v1/registrations; otherwise start a new registration.',
  },
  invitation_not_found: {
    status: 404,
    title: 'No usable invitation',
    when: 'The invitation token in the link is unknown, already used for a registration, or expired (one code for all three, so a token reveals nothing).',
    action:
      'Tell the member the invitation link no longer works and offer the ordinary registration, or ask whoever invited them for a new link.',
  },
  idempotency_key_invalid: {
    status: 400,
    title: 'Idempotency-Key is not valid',
    when: '`Idempotency-Key` is empty, too long or has characters outside printable ASCII.',
    action: 'Send a fresh UUID as the key, or leave the header out.',
  },
  idempotency_key_reused: {
    status: 422,
    title: 'Idempotency-Key was used with a different request',
    when: 'The `Idempotency-Key` was used before with a different body.',
    action: 'Use a new key for a new request; reuse a key only to retry the same request.',
  },
  idempotency_in_progress: {
    status: 409,
    title: 'A request with this Idempotency-Key is still in progress',
    when: 'A request with this `Idempotency-Key` is still running.',
    action: "Retry the same request after the seconds in `Retry-After`; it will get the first request's answer.",
  },
  challenge_failed: {
    status: 403,
    title: 'The human check is missing or was not passed',
    when: 'The human check is switched on and its token is missing, refused, expired or already used.',
    action: 'Have the member solve the check again and send the new token in `X-Challenge-Token`.',
  },
  challenge_unavailable: {
    status: 503,
    title: 'The human check could not be verified',
    when: "The human check's provider could not be asked just now.",
    action: 'Retry after the seconds in `Retry-After`.',
  },
  // upstream (Mydex)
  upstream_auth_failed: {
    status: 502,
    title: 'Mydex refused our credentials',
    when: "Mydex refused the BFF's own credentials (a deployment problem, not the member's).",
    action: 'Show a generic error and retry later; the operator must fix the Mydex settings (`npm run doctor`).',
  },
  upstream_bad_response: {
    status: 502,
    title: 'Mydex answered with something we could not read',
    when: 'Mydex answered with something the BFF could not read.',
    action: 'Show a generic error and retry later; quote the `requestId` when reporting it.',
  },
  upstream_unavailable: {
    status: 503,
    title: 'Mydex is unavailable',
    when: 'Mydex (or its discovery document or keys) could not be reached or answered 5xx/429.',
    action: 'Retry after the seconds in `Retry-After`.',
  },
  upstream_timeout: {
    status: 504,
    title: 'Mydex did not answer in time',
    when: 'Mydex did not answer within MYDEX_TIMEOUT_MS.',
    action: 'Retry later; for a registration, resend with the same `Idempotency-Key` so it is not made twice.',
  },
  // sessions and connections
  session_required: {
    status: 401,
    title: 'A member session is required',
    when: 'The route needs a member session and none was sent, or it expired, was idle too long or was ended.',
    action: 'Sign the member in again (POST /v1/auth/oidc/authorize with `intent: login`).',
  },
  csrf_header_missing: {
    status: 403,
    title: 'The X-CSRF header is required',
    when: 'A cookie-authenticated POST came without `X-CSRF: 1`.',
    action: 'Send `X-CSRF: 1` on every POST that relies on the session cookie.',
  },
  callback_unauthenticated: {
    status: 401,
    title: 'The callback Authentication header is missing or wrong',
    when: 'A Mydex callback came without the right `Authentication` header.',
    action: 'For Mydex only: send the connection token hash as documented. Apps never call this route.',
  },
  callback_source_not_allowed: {
    status: 403,
    title: 'The callback came from an address outside CALLBACK_ALLOWED_IPS',
    when: 'A Mydex callback came from an address outside CALLBACK_ALLOWED_IPS.',
    action: "For the operator: add Mydex's addresses to CALLBACK_ALLOWED_IPS, or fix TRUSTED_PROXIES.",
  },
  already_connected: {
    status: 409,
    title: 'Already connected at the current version',
    when: "The member's PDS is already connected at the current Data Sharing Agreement version.",
    action: 'Show the connection (GET /v1/connections/me) instead of starting one.',
  },
  malformed_form: {
    status: 400,
    title: 'The form body could not be parsed',
    when: 'A form-encoded body could not be parsed.',
    action: 'Send `application/x-www-form-urlencoded` with valid percent-encoding.',
  },
  // OIDC delegation (mostly delivered as `?error=<code>` on the callback's redirect)
  state_invalid: {
    status: 400,
    title: 'The login state is unknown or was tampered with',
    when: "The login's `state` is unknown or was changed (usually as `?error=state_invalid` on the callback redirect).",
    action: 'Start the login again from the app.',
  },
  state_reused: {
    status: 400,
    title: 'The login state was already used',
    when: "The login's callback was opened a second time (a reload or the back button).",
    action: 'Start the login again; if the member is already signed in, carry on.',
  },
  transaction_expired: {
    status: 400,
    title: 'The login took too long and expired',
    when: 'The member took too long at Mydex and the login expired.',
    action: 'Start the login again.',
  },
  browser_mismatch: {
    status: 400,
    title: 'The login finished in another browser than it started in',
    when: 'The login finished in another browser than the one that started it (for example an email link opened elsewhere).',
    action: 'Start the login again in the browser the member is using.',
  },
  access_denied: {
    status: 403,
    title: 'The member cancelled or refused at Mydex',
    when: 'The member cancelled or refused at Mydex.',
    action: 'Return to the start page; offer to try again.',
  },
  provider_error: {
    status: 502,
    title: 'Mydex answered the login with an error',
    when: 'Mydex answered the login with an error of its own.',
    action: 'Offer to try again later.',
  },
  issuer_mismatch: {
    status: 502,
    title: 'The login response came from an unexpected issuer',
    when: 'The login response did not come from the configured Mydex issuer.',
    action: 'Start the login again; if it persists, the operator must check MYDEX_ISSUER.',
  },
  token_exchange_failed: {
    status: 502,
    title: 'Mydex refused the authorization code',
    when: 'Mydex refused to exchange the authorization code.',
    action: 'Start the login again.',
  },
  id_token_invalid: {
    status: 502,
    title: 'The ID token failed validation',
    when: "Mydex's ID token failed validation (signature, issuer, audience, nonce or time).",
    action: 'Start the login again; if it persists, report it with the `requestId`.',
  },
  userinfo_invalid: {
    status: 502,
    title: 'UserInfo did not match the ID token',
    when: "Mydex's UserInfo answer did not match the ID token.",
    action: 'Start the login again; if it persists, report it with the `requestId`.',
  },
  callback_failed: {
    status: 500,
    title: 'The login could not be completed',
    when: "The login could not be completed for a reason on the BFF's side.",
    action: 'Start the login again later; quote the `requestId` when reporting it.',
  },
  exchange_code_invalid: {
    status: 400,
    title: 'The exchange code or secret is not valid',
    when: 'The native exchange code is unknown, used or expired, or the exchange secret is wrong.',
    action: 'Start the login again (POST /v1/auth/oidc/authorize with `client: native`) and exchange the new code once.',
  },
  logout_token_invalid: {
    status: 400,
    title: 'The back-channel logout token is not valid',
    when: 'A back-channel logout token failed verification (signature, claims, or a `jti` already used).',
    action: 'For Mydex only: send a fresh, valid logout token. Apps never call this route.',
  },
} as const satisfies Record<string, ErrorCodeEntry>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ErrorCodeEntry {
  /** The HTTP status the code is answered with (a few routes document another; see the operation). */
  status: number;
  /** The problem's `title`: the same for every occurrence of the code. */
  title: string;
  /** When the BFF answers it: one or two sentences for integrators. */
  when: string;
  /** What the client (frontend, app or operator) should do about it. */
  action: string;
}

export function isErrorCode(value: string): value is ErrorCode {
  return Object.hasOwn(ERROR_CODES, value);
}

/** The code of a bare HTTP status that arrives without one of ours (a framework error, a thrown HttpException). */
export const STATUS_CODES: Readonly<Record<number, ErrorCode>> = {
  400: 'invalid_request',
  401: 'unauthorized',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'validation_failed',
  429: 'rate_limited',
  503: 'service_unavailable',
};
