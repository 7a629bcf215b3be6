import type {} from '@fastify/cookie';
import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sessionConfig } from '../config/session.config.js';

/** Lifetime of the OIDC transaction-binding cookie: the transaction's own 10 minutes. */
export const TRANSACTION_COOKIE_SECONDS = 600;

/**
 * The two browser cookies: the member session and the OIDC transaction binding. Both HttpOnly,
 * SameSite=Lax (the callback is a top-level navigation from Mydex, which Lax allows), Path=/,
 * Secure with the `__Host-` prefix except on plain-http localhost (see session.config.ts).
 */
@Injectable()
export class SessionCookies {
  constructor(@Inject(sessionConfig.KEY) private readonly config: ConfigType<typeof sessionConfig>) {}

  readSession(request: FastifyRequest): string | undefined {
    return request.cookies?.[this.config.sessionCookie];
  }

  /**
   * A browser-session cookie (no Max-Age or Expires: it ends when the browser does) unless
   * SESSION_PERSISTENT=on, which gives it the session's remaining lifetime.
   */
  setSession(reply: FastifyReply, token: string, expiresAt: Date): void {
    const maxAge = Math.max(0, Math.floor((expiresAt.getTime() - Date.now()) / 1000));
    void reply.setCookie(this.config.sessionCookie, token, { ...this.attributes(), ...(this.config.persistentCookie ? { maxAge } : {}) });
  }

  clearSession(reply: FastifyReply): void {
    void reply.clearCookie(this.config.sessionCookie, this.attributes());
  }

  readTransactionBinding(request: FastifyRequest): string | undefined {
    return request.cookies?.[this.config.transactionCookie];
  }

  setTransactionBinding(reply: FastifyReply, secret: string): void {
    void reply.setCookie(this.config.transactionCookie, secret, { ...this.attributes(), maxAge: TRANSACTION_COOKIE_SECONDS });
  }

  private attributes() {
    return { httpOnly: true, secure: this.config.secureCookies, sameSite: 'lax' as const, path: '/' };
  }
}
