import { applyDecorators, Controller } from '@nestjs/common';
import { ApiBearerAuth, ApiCookieAuth, ApiTags } from '@nestjs/swagger';
import { MemberSessionRoute } from '../common/auth/route-access.decorator.js';
import { SkipRateLimit } from '../rate-limit/rate-limit.decorator.js';

/**
 * A controller under `/v1/session`: member session routes (cookie or bearer), in the `session` tag,
 * without a rate limit of their own. The session controller and the logout controller (which lives
 * with the relying party, src/auth/oidc) share it.
 */
export function SessionRoutes(): ClassDecorator {
  return applyDecorators(
    ApiTags('session'),
    // In this order openapi.yaml lists bearer before cookie, as it did with the decorators written out.
    ApiBearerAuth(),
    ApiCookieAuth(),
    MemberSessionRoute(),
    SkipRateLimit('member session routes: a live session is needed, and sessions come only through the auth limit'),
    Controller('v1/session'),
  );
}
