/**
 * Every problem `code` the BFF answers with, its HTTP status and its title. Frontends switch on the
 * code; it never changes meaning. Feature modules add their codes here so there is one catalogue.
 */
export const ERROR_CODES = {
  // request-level
  validation_failed: { status: 422, title: 'The request has invalid fields' },
  invalid_request: { status: 400, title: 'The request is not valid' },
  malformed_json: { status: 400, title: 'The body is not valid JSON' },
  body_not_object: { status: 400, title: 'The body must be a JSON object' },
  unsupported_media_type: { status: 415, title: 'Unsupported content type' },
  payload_too_large: { status: 413, title: 'The body is too large' },
  body_too_complex: { status: 413, title: 'The body has too many keys or is nested too deeply' },
  invalid_unicode: { status: 400, title: 'The request has text that is not valid Unicode' },
  request_header_fields_too_large: { status: 431, title: 'The request headers are too large' },
  request_timeout: { status: 408, title: 'The request was not received in time' },
  uri_too_long: { status: 414, title: 'The URL is too long' },
  not_found: { status: 404, title: 'Not found' },
  method_not_allowed: { status: 405, title: 'Method not allowed' },
  not_acceptable: { status: 406, title: 'Not acceptable' },
  rate_limited: { status: 429, title: 'Too many requests' },
  unauthorized: { status: 401, title: 'Authentication required' },
  forbidden: { status: 403, title: 'Forbidden' },
  conflict: { status: 409, title: 'Conflict' },
  internal_error: { status: 500, title: 'Internal server error' },
  service_unavailable: { status: 503, title: 'Service unavailable' },
  database_unavailable: { status: 503, title: 'The database is unavailable' },
  // registration
  return_to_not_allowed: { status: 400, title: 'returnTo is not an allowed address' },
  // 409 for "already in use" is ours [I]: Mydex documents the messages, not the status it answers them with.
  mydexid_taken: { status: 409, title: 'The MydexID is already in use' },
  email_taken: { status: 409, title: 'The email address is already in use' },
  mydex_rejected: { status: 422, title: 'Mydex refused the registration' },
  registration_not_found: { status: 404, title: 'No such registration' },
  idempotency_key_invalid: { status: 400, title: 'Idempotency-Key is not valid' },
  idempotency_key_reused: { status: 422, title: 'Idempotency-Key was used with a different request' },
  idempotency_in_progress: { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  challenge_failed: { status: 403, title: 'The human check is missing or was not passed' },
  challenge_unavailable: { status: 503, title: 'The human check could not be verified' },
  // upstream (Mydex)
  upstream_auth_failed: { status: 502, title: 'Mydex refused our credentials' },
  upstream_bad_response: { status: 502, title: 'Mydex answered with something we could not read' },
  upstream_unavailable: { status: 503, title: 'Mydex is unavailable' },
  upstream_timeout: { status: 504, title: 'Mydex did not answer in time' },
  // sessions and connections
  session_required: { status: 401, title: 'A member session is required' },
  csrf_header_missing: { status: 403, title: 'The X-CSRF header is required' },
  callback_unauthenticated: { status: 401, title: 'The callback Authentication header is missing or wrong' },
  callback_source_not_allowed: { status: 403, title: 'The callback came from an address outside CALLBACK_ALLOWED_IPS' },
  already_connected: { status: 409, title: 'Already connected at the current version' },
  malformed_form: { status: 400, title: 'The form body could not be parsed' },
  // OIDC delegation (mostly delivered as `?error=<code>` on the callback's redirect)
  state_invalid: { status: 400, title: 'The login state is unknown or was tampered with' },
  state_reused: { status: 400, title: 'The login state was already used' },
  transaction_expired: { status: 400, title: 'The login took too long and expired' },
  browser_mismatch: { status: 400, title: 'The login finished in another browser than it started in' },
  access_denied: { status: 403, title: 'The member cancelled or refused at Mydex' },
  provider_error: { status: 502, title: 'Mydex answered the login with an error' },
  issuer_mismatch: { status: 502, title: 'The login response came from an unexpected issuer' },
  token_exchange_failed: { status: 502, title: 'Mydex refused the authorization code' },
  id_token_invalid: { status: 502, title: 'The ID token failed validation' },
  userinfo_invalid: { status: 502, title: 'UserInfo did not match the ID token' },
  callback_failed: { status: 500, title: 'The login could not be completed' },
  exchange_code_invalid: { status: 400, title: 'The exchange code or secret is not valid' },
  logout_token_invalid: { status: 400, title: 'The back-channel logout token is not valid' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** Base of every `type` URI: one page per code in the docs. */
export const PROBLEM_TYPE_BASE = 'https://github.com/mydex-bff/docs/errors#';
