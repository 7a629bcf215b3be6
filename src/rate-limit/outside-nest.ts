/**
 * Routes registered on Fastify directly rather than through a Nest controller: Nest's guards never
 * see them, so they are not rate-limited, and each is listed here with the reason.
 * `test/route-audit.e2e-spec.ts` fails on a Fastify route that is neither a Nest route with a
 * decision nor matched here.
 */
export const ROUTES_OUTSIDE_NEST: readonly { pattern: RegExp; skip: string }[] = [
  {
    pattern: /^\/(openapi\.(yaml|json)|docs(\/.*|\*)?)$/,
    skip: 'the API contract and Swagger UI (src/openapi/openapi.ts): static text built once, no database or Mydex work',
  },
  {
    pattern: /^\/([\w-]+\.(html|css|js|mjs|map|svg|png|ico|json))?$/,
    skip: "the demo SPA's static files (src/demo/demo-spa.ts): no database or Mydex work; not served in production unless DEMO_SPA=on",
  },
];
