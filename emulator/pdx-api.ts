import type Router from '@koa/router';
import type { Context, Next } from 'koa';
import { BodyError, readJsonObject } from './http-body.js';
import { checkNewMember } from './member-rules.js';
import { PDX_SCOPE } from './oidc.js';
import type { EmulatorRuntime } from './runtime.js';
import { constantTimeEqual, hashSecret, sha512Hex } from './secrets.js';

/** Lifetime of a short access token: "short-lived" [S], the exact value is not published [I]. */
export const SHORT_TOKEN_TTL_MS = 2 * 60 * 1000;
/** Lifetime of the Private Key form and DSSA URLs [I]. */
export const ONE_TIME_URL_TTL_MS = 30 * 60 * 1000;

/**
 * Mydex's PDX API as the subscriber sees it (mydex-integration.md sections 3 to 6): the short access
 * token, registration (`/api/pds`) and First Time Connection (`/api/connection`, `/update`). Every call
 * checks the same things Mydex checks, in this order (the order is not documented [I]): Bearer token with `mydex:pdx`, the single-use
 * `Short-Access-Token`, `Authentication` = SHA-512(short token + connection token), then the body.
 */
export function registerPdxApiRoutes(router: Router, runtime: EmulatorRuntime): void {
  const { options, store } = runtime;

  router.get('/access-token/:nid', applyFaults(runtime), (ctx) => {
    // No header is checked: Mydex documents none for this call (the BFF sends its Bearer token anyway [I]).
    // Unknown connections: Mydex's answer is not documented [I].
    if (ctx.params.nid !== options.connectionNid) return mydexError(ctx, 404, 'Connection not found.');
    const token = store.issueShortToken(options.connectionNid, SHORT_TOKEN_TTL_MS);
    jsonString(ctx, token.value);
  });

  router.post('/api/pds', applyFaults(runtime), async (ctx) => {
    const body = await authorizedBody(ctx, runtime);
    if (!body) return;
    const { details, errors } = checkNewMember(body, store);
    const ruleErrors = errors.filter((e) => e.code !== 'mydexid_taken' && e.code !== 'email_taken');
    // Every failing rule's message in one 400 `{success:0, message}`: the shape is Mydex's [S], the status,
    // wording and listing every rule at once are the emulator's own [I].
    if (ruleErrors.length > 0) return failure(ctx, ruleErrors.map((e) => e.message).join(' '));
    // Mydex's historic messages [S]; the status is not documented: 409 [I].
    if (errors.some((e) => e.code === 'mydexid_taken')) return mydexError(ctx, 409, 'Mydexid already in use.');
    if (errors.some((e) => e.code === 'email_taken')) return mydexError(ctx, 409, 'Email already in use.');
    const pending = store.addPending(
      {
        mydexid: details.mydexid,
        email: details.email,
        passwordHash: await hashSecret(details.password),
        returnTo: body.return_to as string,
      },
      ONE_TIME_URL_TTL_MS,
    );
    runtime.log(`PDX: registration of ${details.mydexid} awaits its Private Key form`);
    jsonString(ctx, `${runtime.baseUrl}/private-key/${pending.token}`);
  });

  const startConnection = (kind: 'first' | 'update') => async (ctx: Context) => {
    const body = await authorizedBody(ctx, runtime);
    if (!body) return;
    if (body.mydexid !== undefined && body.mydexid !== null && typeof body.mydexid !== 'string')
      return failure(ctx, 'mydexid must be a string.');
    const mydexid = typeof body.mydexid === 'string' ? body.mydexid.trim() : '';
    // A First Time Connection may start without a MydexID: the DSSA page then lets the member log in or
    // register (Mydex's FTC page [S]). An update names its member: IDaaS requires mydexid when
    // version > 1 [S], and so does /api/connection/update here [I].
    if (mydexid === '' && kind === 'update') return failure(ctx, 'mydexid is required.');
    let version = 1;
    if (kind === 'update') {
      const given = typeof body.version === 'number' ? String(body.version) : body.version;
      if (typeof given !== 'string' || !/^[1-9][0-9]{0,8}$/.test(given.trim())) return failure(ctx, 'version must be a positive integer.');
      version = Number(given.trim());
    }
    const linkingToken = body.linking_token;
    if (linkingToken !== undefined && (typeof linkingToken !== 'string' || linkingToken.length === 0 || linkingToken.length > 255)) {
      return failure(ctx, 'linking_token must be a string of 1 to 255 characters.');
    }
    const member = mydexid === '' ? undefined : store.memberByMydexid(mydexid);
    // Not documented [I]: a MydexID that is given but unknown is refused rather than sent to a registration page.
    if (mydexid !== '' && !member) return mydexError(ctx, 404, 'Mydexid not found.');
    if (kind === 'update' && (!member || !store.connection(member.uid, options.connectionNid))) {
      return failure(ctx, 'The member has no connection to update.');
    }
    const request = store.addConnectionRequest(
      {
        kind,
        ...(member ? { mydexid: member.mydexid } : {}),
        nid: options.connectionNid,
        version,
        returnTo: body.return_to as string,
        linkingToken,
      },
      ONE_TIME_URL_TTL_MS,
    );
    runtime.log(
      `PDX: ${kind === 'first' ? 'First Time Connection' : `update to version ${version}`} for ${member?.mydexid ?? 'a member not named yet'} awaits the DSSA`,
    );
    jsonString(ctx, `${runtime.baseUrl}/dssa/${request.token}`);
  };

  router.post('/api/connection', applyFaults(runtime), startConnection('first'));
  router.post('/api/connection/update', applyFaults(runtime), startConnection('update'));
}

/**
 * Checks the three headers and the connection fields common to every PDX call. Answers the refusal
 * itself and returns undefined, or returns the JSON body.
 */
async function authorizedBody(ctx: Context, runtime: EmulatorRuntime): Promise<Record<string, unknown> | undefined> {
  const { options, provider, store } = runtime;

  const authorization = ctx.get('Authorization');
  const match = /^Bearer ([^\s]+)$/i.exec(authorization);
  if (!match) return void unauthorized(ctx, 'Missing or malformed Authorization header: a Bearer token is required.');
  const token = await provider.ClientCredentials.find(match[1]!);
  if (!token || token.isExpired || token.clientId !== options.clientId) {
    return void unauthorized(ctx, 'The access token is invalid or has expired.');
  }
  if (!(token.scope ?? '').split(' ').includes(PDX_SCOPE)) {
    return void unauthorized(ctx, `The access token does not carry the ${PDX_SCOPE} scope.`);
  }

  const shortValue = ctx.get('Short-Access-Token');
  if (shortValue === '') return void unauthorized(ctx, 'Missing Short-Access-Token header.');
  const short = store.takeShortToken(shortValue);
  if (!short || short.nid !== options.connectionNid) {
    return void unauthorized(ctx, 'The Short-Access-Token is invalid, expired or already used.');
  }
  const authentication = ctx.get('Authentication');
  if (authentication === '' || !constantTimeEqual(authentication, sha512Hex(short.value + options.connectionToken))) {
    return void unauthorized(ctx, 'The Authentication header does not match the Short-Access-Token and connection.');
  }

  let body: Record<string, unknown>;
  try {
    body = await readJsonObject(ctx);
  } catch (error) {
    if (error instanceof BodyError) return void failure(ctx, error.message, error.status);
    throw error;
  }

  const nid = typeof body.connection_nid === 'number' ? String(body.connection_nid) : body.connection_nid;
  if (typeof nid !== 'string' || nid.trim() === '') return void failure(ctx, 'connection_nid is required.');
  if (nid.trim() !== options.connectionNid) return void unauthorized(ctx, 'Unknown connection_nid.');
  const hash = body.connection_token_hash;
  if (typeof hash !== 'string' || hash === '') return void failure(ctx, 'connection_token_hash is required.');
  if (!constantTimeEqual(hash, sha512Hex(options.connectionToken))) {
    return void unauthorized(ctx, 'connection_token_hash does not match the connection.');
  }
  const returnTo = body.return_to;
  if (typeof returnTo !== 'string' || returnTo.trim() === '') return void failure(ctx, 'return_to is required.');
  if (!isHttpUrl(returnTo.trim())) return void failure(ctx, 'return_to must be an absolute http or https URL.');
  body.return_to = returnTo.trim();
  return body;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

/** Success bodies are JSON-encoded strings [S]. */
function jsonString(ctx: Context, value: string): void {
  ctx.status = 200;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(value);
}

/** 401 `{ error: { message, reason } }` [S]. */
function unauthorized(ctx: Context, reason: string): void {
  ctx.status = 401;
  ctx.body = { error: { message: 'Unauthorized', reason } };
}

/** 400 `{ success: 0, message }` [S] (the newer routes' shape). */
function failure(ctx: Context, message: string, status = 400): void {
  ctx.status = status;
  ctx.body = { success: 0, message };
}

/** `{ error: { message } }` [S] (the historic shape, e.g. "Mydexid already in use."). */
function mydexError(ctx: Context, status: number, message: string): void {
  ctx.status = status;
  ctx.body = { error: { message } };
}

/** The faults a test asked for (setFaults): delay, then status, then a body that is not JSON. */
function applyFaults(runtime: EmulatorRuntime) {
  return async (ctx: Context, next: Next) => {
    const faults = runtime.faults();
    if (faults.pdxDelayMs !== undefined && faults.pdxDelayMs > 0) {
      await new Promise<void>((resolve) => runtime.later(faults.pdxDelayMs!, resolve));
    }
    if (faults.pdxStatus === undefined && !faults.pdxGarbage) return next();
    ctx.status = faults.pdxStatus ?? 200;
    if (faults.pdxGarbage) {
      ctx.type = 'text/html';
      ctx.body = '<html><body>502 Bad Gateway (emulated garbage)</body></html>';
    } else {
      ctx.body = { error: { message: 'The service is unavailable (emulated fault).' } };
    }
  };
}
