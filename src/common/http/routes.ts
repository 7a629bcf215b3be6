/**
 * The routes whose path is written in more than one place (a controller, and a config default, a
 * parser, a metric, a URL the BFF hands out, the doctor): defined once here. A route is its controller
 * prefix (`@Controller(prefix)`), its handler path (`@Get(sub)`), and `path`, the full path as Fastify
 * reports it in `request.routeOptions.url` and as it appears in public URLs. Changing one changes a
 * public URL (and openapi.yaml, and what is registered at Mydex): don't, without a new version.
 */

interface Route<Prefix extends string, Sub extends string> {
  prefix: Prefix;
  sub: Sub;
  path: `/${Prefix}/${Sub}`;
}

function route<Prefix extends string, Sub extends string>(prefix: Prefix, sub: Sub): Route<Prefix, Sub> {
  return { prefix, sub, path: `/${prefix}/${sub}` };
}

/** `@Controller()` prefixes shared by several controllers. */
export const CONNECTIONS_PREFIX = 'v1/connections';
export const AUTH_PREFIX = 'v1/auth';
export const REGISTRATIONS_PREFIX = 'v1/registrations';

/** Mydex's First Time Connection callback (POST and PUT): registered at Mydex as `{PUBLIC_BASE_URL}/v1/connections/callback`. */
export const CONNECTION_CALLBACK = route(CONNECTIONS_PREFIX, 'callback');
/** Where Mydex sends the browser back after the Data Sharing Agreement. */
export const CONNECTION_RETURN = route(CONNECTIONS_PREFIX, 'return');
/** The OIDC redirect URI. */
export const OIDC_CALLBACK = route(AUTH_PREFIX, 'oidc/callback');
/** OIDC back-channel logout (registered at Mydex). */
export const BACKCHANNEL_LOGOUT = route(`${AUTH_PREFIX}/oidc`, 'backchannel-logout');
/** Where Mydex's Private Key form sends the browser back (GET), and where an app completes (POST). */
export const REGISTRATION_RETURN = route(REGISTRATIONS_PREFIX, ':id/return');

/** REGISTRATION_RETURN's path for one registration. */
export function registrationReturnPath(id: string): string {
  return REGISTRATION_RETURN.path.replace(':id', encodeURIComponent(id));
}
