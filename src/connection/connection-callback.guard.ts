import { type CanActivate, type ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import { timingSafeEqual } from 'node:crypto';
import { ProblemException } from '../common/problem/problem.exception.js';
import { mydexConfig } from '../config/mydex.config.js';
import { sha512Hex } from '../mydex/mydex.client.js';

const SHA512_HEX = /^[0-9a-fA-F]{128}$/;

/**
 * Admits Mydex's callback: the `Authentication` header must be the SHA-512 hex of our Connection Token
 * (our `connection_token_hash`), a static value [S/I]. Compared in constant time, hex case ignored.
 * `Authorization` is not accepted in its place. Anything else is 401 before anything is written.
 */
@Injectable()
export class ConnectionCallbackGuard implements CanActivate {
  private readonly expected: Buffer;

  constructor(@Inject(mydexConfig.KEY) config: ConfigType<typeof mydexConfig>) {
    this.expected = Buffer.from(sha512Hex(config.connectionToken), 'latin1');
  }

  canActivate(context: ExecutionContext): boolean {
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authentication;
    // The length is public (always 128), so checking the shape first leaks nothing.
    if (typeof header !== 'string' || !SHA512_HEX.test(header) || !timingSafeEqual(Buffer.from(header.toLowerCase(), 'latin1'), this.expected)) {
      throw new ProblemException('callback_unauthenticated', 'Send the Authentication header Mydex sends: the SHA-512 hex of the Connection Token.', {
        headers: { 'www-authenticate': 'Authentication' },
      });
    }
    return true;
  }
}
