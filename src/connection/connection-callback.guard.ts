import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { CidrList } from '../common/http/cidr-list.js';
import { ProblemException } from '../common/problem/problem.exception.js';
import { connectionConfig } from '../config/connection.config.js';
import { mydexConfig } from '../config/mydex.config.js';
import { sha512Hex } from '../mydex/mydex.client.js';

const SHA512_HEX = /^[0-9a-fA-F]{128}$/;

/**
 * Admits Mydex's callback:
 * 1. when CALLBACK_ALLOWED_IPS is set, the client address (`request.ip`, resolved through
 *    TRUSTED_PROXIES) must be in it, else 403 `callback_source_not_allowed`;
 * 2. the `Authentication` header must be the SHA-512 hex of our Connection Token (our
 *    `connection_token_hash`), a static value [S/I], compared in constant time, hex case ignored.
 *    `Authorization` is not accepted in its place. Else 401 `callback_unauthenticated`.
 * Nothing is written for a refused caller. The same check runs in the callback's error hook
 * (callback-form.ts), which keeps unparseable bodies only from an admitted caller.
 */
@Injectable()
export class ConnectionCallbackGuard implements CanActivate {
  private readonly expected: Buffer;
  private readonly allowed: CidrList | null;

  constructor(
    @Inject(mydexConfig.KEY) config: ConfigType<typeof mydexConfig>,
    @Inject(connectionConfig.KEY) connection: ConfigType<typeof connectionConfig>,
  ) {
    this.expected = Buffer.from(sha512Hex(config.connectionToken), 'latin1');
    this.allowed = connection.callbackAllowedIps.length > 0 ? new CidrList(connection.callbackAllowedIps) : null;
  }

  canActivate(context: ExecutionContext): boolean {
    const problem = this.refusal(context.switchToHttp().getRequest<FastifyRequest>());
    if (problem) throw problem;
    return true;
  }

  /** Why this request may not deliver a callback, or undefined when it may. */
  refusal(request: FastifyRequest): ProblemException | undefined {
    if (this.allowed && !this.allowed.has(request.ip)) {
      return new ProblemException(
        'callback_source_not_allowed',
        'Callbacks are accepted only from the addresses configured in CALLBACK_ALLOWED_IPS.',
      );
    }
    const header = request.headers.authentication;
    // The length is public (always 128), so checking the shape first leaks nothing.
    if (
      typeof header !== 'string' ||
      !SHA512_HEX.test(header) ||
      !timingSafeEqual(Buffer.from(header.toLowerCase(), 'latin1'), this.expected)
    ) {
      return new ProblemException(
        'callback_unauthenticated',
        'Send the Authentication header Mydex sends: the SHA-512 hex of the Connection Token.',
        {
          headers: { 'www-authenticate': 'Authentication' },
        },
      );
    }
    return undefined;
  }
}
