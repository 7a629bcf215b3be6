import { createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ProblemException } from '../common/problem/problem.exception.js';
import { MEMBER, type AuthenticatedMember, type RequestWithMember } from './authenticated-member.js';

/**
 * The member of the current session, on a route declared `@MemberSessionRoute()` (which makes
 * MemberSessionGuard run first). A parameter decorator rather than a request-scoped provider.
 */
export const CurrentMember = createParamDecorator((_data: unknown, context: ExecutionContext): AuthenticatedMember => {
  const member = context.switchToHttp().getRequest<RequestWithMember>()[MEMBER];
  // Reaching here without a member means the route forgot @MemberSessionRoute(): refuse, never guess.
  if (!member) throw new ProblemException('session_required', 'Sign in first.');
  return member;
});
