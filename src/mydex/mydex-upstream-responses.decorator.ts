import { applyDecorators } from '@nestjs/common';
import { ApiResponse } from '@nestjs/swagger';
import { PROBLEM } from '../common/problem/problem-openapi.js';

/** The answers any route that calls Mydex can give when Mydex fails (MydexClient's error mapping). */
export const ApiMydexUpstreamResponses = (badGateway = '`upstream_auth_failed` or `upstream_bad_response`') =>
  applyDecorators(
    ApiResponse({ status: 502, description: badGateway, content: PROBLEM }),
    ApiResponse({ status: 503, description: '`upstream_unavailable`, with Retry-After', content: PROBLEM }),
    ApiResponse({ status: 504, description: '`upstream_timeout`', content: PROBLEM }),
  );
