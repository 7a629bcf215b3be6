import { SetMetadata } from '@nestjs/common';

/**
 * Every route declares exactly one way in: public, a member session, or the Mydex callback guard.
 * The route audit test reflects over all routes and fails on a route that declares none or two.
 */
export const ROUTE_ACCESS = 'routeAccess';
export type RouteAccess = 'public' | 'member_session' | 'mydex_callback';

export const Public = () => SetMetadata(ROUTE_ACCESS, 'public' satisfies RouteAccess);
export const MemberSessionRoute = () => SetMetadata(ROUTE_ACCESS, 'member_session' satisfies RouteAccess);
export const MydexCallbackRoute = () => SetMetadata(ROUTE_ACCESS, 'mydex_callback' satisfies RouteAccess);
