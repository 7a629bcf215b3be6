import { Inject, Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import { IsNull, type Repository } from 'typeorm';
import type { Statement } from '../../../persistence/sql-engine.js';
import { DataEncryption } from '../../../common/crypto/data-encryption.js';
import { openText, sealText, type Sealer } from '../../../common/crypto/sealed-text.js';
import { ProblemException } from '../../../common/problem/problem.exception.js';
import { isOpaqueToken, newOpaqueToken, sha256Hex } from '../../../session/session-token.js';
import { checkRegistration } from '../../../validation/registration-rules.js';
import { Invitation, INVITATIONS, invitationEmailContext } from './invitation.entity.js';

const I = INVITATIONS.c;
/** Spends an invitation: `uses` goes up, and the table's CHECK (uses <= 1) fails a second spend. */
const SPEND = `UPDATE ${INVITATIONS.ref} SET ${I.uses} = ${I.uses} + 1, ${I.usedAt} = $1, ${I.registrationId} = $2 WHERE ${I.id} = $3`;

/** How long an invitation is usable when its creator names no expiry. */
export const DEFAULT_INVITATION_DAYS = 7;
const DAY_MS = 24 * 60 * 60 * 1000;

export interface NewInvitation {
  email: string;
  /** When the link stops working; default DEFAULT_INVITATION_DAYS from now. */
  expiresAt?: Date;
}

/** A created invitation. `token` goes into the member's link and exists nowhere else: only its hash is stored. */
export interface CreatedInvitation {
  id: string;
  token: string;
  email: string;
  expiresAt: Date;
}

/** An invitation that can still be used, with its email opened. */
export interface UsableInvitation {
  id: string;
  email: string;
  expiresAt: Date;
}

/**
 * Invitations to register: created by an operator (`npm run invitations`) or the integrator's backend
 * (`create`, from a module of its own), read by the member's frontend through the link's token, and
 * spent by the registration they lead to. Used in the BFF with DataEncryption and in the command with
 * the data key ring itself (both seal the same way: sealed-text.ts).
 */
@Injectable()
export class InvitationsService {
  constructor(
    @InjectRepository(Invitation) private readonly invitations: Repository<Invitation>,
    @Inject(DataEncryption) private readonly sealer: Sealer,
  ) {}

  /** The one answer for a token that is unknown, used, expired or not shaped like a token: nothing tells them apart. */
  static notFound(): ProblemException {
    return new ProblemException(
      'invitation_not_found',
      'There is no usable invitation with this token: it is unknown, already used or expired.',
    );
  }

  /**
   * Creates an invitation for `email` (checked by the registration's email rule) and answers its
   * single-use token. Throws an Error with the rule's message for a bad email or an expiry not in the future.
   */
  async create({ email, expiresAt = new Date(Date.now() + DEFAULT_INVITATION_DAYS * DAY_MS) }: NewInvitation): Promise<CreatedInvitation> {
    const { details, errors } = checkRegistration({ email });
    const refusal = errors.find((error) => error.field === 'email');
    if (refusal) throw new Error(`The email is not valid: ${refusal.message}`);
    if (!(expiresAt.getTime() > Date.now())) throw new Error('The expiry must be in the future.');
    const id = randomUUID();
    const token = newOpaqueToken();
    await this.invitations.insert({
      id,
      tokenHash: sha256Hex(token),
      emailSealed: sealText(this.sealer, details.email, invitationEmailContext(id)),
      createdAt: new Date(),
      expiresAt,
      usedAt: null,
      registrationId: null,
    });
    return { id, token, email: details.email, expiresAt };
  }

  /** The invitation behind `token` while it can be used (not used, not expired); null otherwise. */
  async findUsable(token: string): Promise<UsableInvitation | null> {
    if (!isOpaqueToken(token)) return null;
    const row = await this.invitations.findOneBy({ tokenHash: sha256Hex(token), usedAt: IsNull() });
    if (!row || !(row.expiresAt.getTime() > Date.now())) return null;
    return { id: row.id, email: openText(this.sealer, row.emailSealed, invitationEmailContext(row.id)), expiresAt: row.expiresAt };
  }

  /**
   * The statement that spends the invitation for `registrationId`, for the transaction that writes
   * that registration's row (NewRegistration.alongside). It raises `uses`: when a concurrent request
   * spent it first, the table's CHECK fails the statement and the transaction, which
   * `isSecondUse` recognises.
   */
  spend(id: string, registrationId: string): Statement {
    return [SPEND, [new Date(), registrationId, id]];
  }

  /** Whether `error` is the CHECK that keeps an invitation single-use, from either engine. */
  static isSecondUse(error: unknown): boolean {
    const { code, driverError } = (error ?? {}) as { code?: unknown; driverError?: { code?: unknown } };
    const reason = code ?? driverError?.code;
    return reason === '23514' || reason === 'SQLITE_CONSTRAINT_CHECK';
  }
}
