import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider, { type Grant, type ProviderContext } from 'oidc-provider';
import { escapeHtml, page } from './html.js';
import { createMemoryAdapterFactory } from './oidc-adapter.js';
import type { EmulatorStore } from './store.js';

/** The scope of client-credentials tokens the PDX API accepts [S]. */
export const PDX_SCOPE = 'mydex:pdx';
/** Scopes a member can grant through the authorization code flow [S]. */
const MEMBER_SCOPES = new Set(['openid', 'mydexid']);

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  /** The client's `backchannel_logout_uri`: where a logout token is POSTed when a member logs out here. */
  backchannelLogoutUri?: string;
}

/** The BFF's back-channel logout route sits beside its OIDC callback. */
const BFF_CALLBACK_PATH = '/v1/auth/oidc/callback';
const BFF_BACKCHANNEL_PATH = '/v1/auth/oidc/backchannel-logout';

/**
 * `{PUBLIC_BASE_URL}/v1/auth/oidc/backchannel-logout` for a BFF whose redirect URI is
 * `{PUBLIC_BASE_URL}/v1/auth/oidc/callback`; undefined for any other client (no back-channel logout).
 */
export function backchannelLogoutUriFor(redirectUri: string | undefined): string | undefined {
  if (redirectUri === undefined || !redirectUri.endsWith(BFF_CALLBACK_PATH)) return undefined;
  return `${redirectUri.slice(0, -BFF_CALLBACK_PATH.length)}${BFF_BACKCHANNEL_PATH}`;
}

/**
 * The OpenID Provider, configured as Mydex's (ORY Hydra [I]) appears from outside: Hydra's paths,
 * authorization code with S256 PKCE required, client_secret_basic only, scopes `openid mydexid`,
 * claims `sub`/`mydexid`/`username` at UserInfo, client credentials for `mydex:pdx` (3600 s), the
 * custom `action` and `email` authorization parameters, and consent granted for the one client.
 */
export function createOidcProvider(settings: OidcSettings, store: EmulatorStore): Provider {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const signingKey = { ...privateKey.export({ format: 'jwk' }), use: 'sig', alg: 'RS256', kid: randomBytes(8).toString('hex') };

  return new Provider(settings.issuer, {
    adapter: createMemoryAdapterFactory(),
    clients: [
      {
        client_id: settings.clientId,
        client_secret: settings.clientSecret,
        redirect_uris: settings.redirectUris,
        post_logout_redirect_uris: settings.postLogoutRedirectUris,
        grant_types: ['authorization_code', 'client_credentials'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
        scope: `openid mydexid ${PDX_SCOPE}`,
        // Back-Channel Logout 1.0: a logout token (with `sid`, which ID tokens then carry too) to the BFF.
        ...(settings.backchannelLogoutUri
          ? { backchannel_logout_uri: settings.backchannelLogoutUri, backchannel_logout_session_required: true }
          : {}),
      },
    ],
    clientAuthMethods: ['client_secret_basic'],
    responseTypes: ['code'],
    pkce: { required: () => true },
    // Hydra refuses an authorization request without redirect_uri even for a single registered one [I].
    allowOmittingSingleRegisteredRedirectUri: false,
    scopes: ['openid', 'mydexid', PDX_SCOPE],
    claims: { openid: ['sub'], mydexid: ['mydexid', 'username'] },
    extraParams: ['action', 'email'],
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    jwks: { keys: [signingKey] },
    routes: {
      authorization: '/oauth2/auth',
      token: '/oauth2/token',
      userinfo: '/userinfo',
      jwks: '/.well-known/jwks.json',
      end_session: '/oauth2/sessions/logout',
      revocation: '/oauth2/revoke',
      introspection: '/oauth2/introspect',
    },
    // Mydex documents 3600 s for the client-credentials token and no refresh token [S]; the other lifetimes are [I].
    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      ClientCredentials: 3600,
      IdToken: 3600,
      Interaction: 30 * 60,
      Session: 24 * 3600,
      Grant: 24 * 3600,
    },
    issueRefreshToken: async () => false,
    clientBasedCORS: () => false,
    // The emulator's only outgoing requests are back-channel logout tokens to the BFF, which runs beside
    // it on loopback or a private network: oidc-provider's guard against special-use addresses (its
    // dispatcher) would refuse exactly that, so the emulator fetches without it.
    fetch: (url: string | URL, options: RequestInit & { dispatcher?: unknown }) => {
      const { dispatcher: _guard, ...rest } = options;
      return globalThis.fetch(url, rest);
    },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      // Hydra sends back-channel logout tokens to clients that register a URI [I].
      backchannelLogout: { enabled: true },
      // Hydra, as Mydex runs it, offers neither [I].
      pushedAuthorizationRequests: { enabled: false },
      dPoP: { enabled: false },
    },
    interactions: { url: (_ctx: unknown, interaction: { uid: string }) => `/interaction/${interaction.uid}` },
    findAccount: async (_ctx: unknown, sub: string) => {
      const member = store.memberBySub(sub);
      if (!member) return undefined;
      return {
        accountId: member.sub,
        claims: async () => ({ sub: member.sub, mydexid: member.mydexid, username: member.mydexid }),
      };
    },
    loadExistingGrant,
    renderError,
  });
}

/**
 * Consent is granted automatically for the configured client (Mydex's LaCa shows no consent screen
 * to the subscriber's own members [I]): the grant holds every member scope and claim requested.
 */
async function loadExistingGrant(ctx: ProviderContext): Promise<Grant | undefined> {
  const { oidc } = ctx;
  const accountId = oidc.session?.accountId;
  if (!oidc.client || !accountId) return undefined;
  const grantId = oidc.result?.consent?.grantId ?? oidc.session?.grantIdFor(oidc.client.clientId);
  const grant =
    (grantId ? await oidc.provider.Grant.find(grantId) : undefined) ??
    new oidc.provider.Grant({ clientId: oidc.client.clientId, accountId });
  const scopes = [...oidc.requestParamScopes].filter((scope) => MEMBER_SCOPES.has(scope));
  if (scopes.length > 0) grant.addOIDCScope(scopes.join(' '));
  grant.addOIDCClaims(['sub', 'mydexid', 'username']);
  await grant.save();
  return grant;
}

async function logoutSource(ctx: ProviderContext, form: string): Promise<void> {
  ctx.type = 'html';
  ctx.body = page(
    'Log out of Mydex',
    `${form}<p>You are about to log out of your MydexID.</p>
<button type="submit" form="op.logoutForm" name="logout" value="yes">Log out</button>`,
  );
}

async function postLogoutSuccessSource(ctx: ProviderContext): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Logged out', '<p>You have logged out of your MydexID.</p>');
}

async function renderError(ctx: ProviderContext, out: Record<string, string>): Promise<void> {
  ctx.type = 'html';
  ctx.body = page('Something went wrong', `<p role="alert">${escapeHtml(out.error)}: ${escapeHtml(out.error_description ?? '')}</p>`);
}
