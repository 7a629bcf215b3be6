/**
 * The problem+json response content for @Api…Response decorators: a reference to the one Problem
 * schema that src/openapi/openapi.ts adds to the document.
 */
export const PROBLEM = {
  'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } },
};
