import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { DataSource, Repository } from 'typeorm';
import { registrationConfig } from '../config/registration.config.js';
import type { EventOrigin } from '../events/domain-events.js';
import { SqlEngine, type Statement } from '../persistence/sql-engine.js';
import { insertStatement } from '../persistence/sql-table.js';
import { TransactionalEvents, type PreparedEvent } from '../webhooks/transactional-events.js';
import { RegistrationBindings, type BindingClient, type BoundRegistration } from '../session/registration-binding.js';
import { isOpaqueToken, sameHex, sha256Hex } from '../session/session-token.js';
import { DataEncryption } from '../common/crypto/data-encryption.js';
import { sealText } from '../common/crypto/sealed-text.js';
import {
  Registration,
  REGISTRATIONS,
  registrationEmailContext,
  type RegistrationClient,
  type RegistrationStatus,
  type RegistrationStrategy,
} from './registration.entity.js';

export interface NewRegistration {
  /** A pre-allocated id (the own-form strategy needs it in Mydex's return_to before the row exists). */
  id?: string;
  strategy: RegistrationStrategy;
  status: RegistrationStatus;
  mydexid?: string | null;
  email?: string | null;
  sub?: string | null;
  returnTo?: string | null;
  expiresAt?: Date | null;
  /** The client binding (own form): the SHA-256 of its secret and the kind of client holding it. */
  binding?: { hash: string; client: RegistrationClient } | null;
  /**
   * A write that must commit with the row or not at all (the invitation strategy spends its invitation
   * here): a statement for the row's id (`$n` placeholders), written atomically with the row and its
   * webhook row (SqlEngine.writeAtomically); when it fails, none is written.
   */
  alongside?: (registrationId: string) => Statement;
}

const R = REGISTRATIONS.c;
/** A registration's final status, written once: only from awaiting_private_key. */
const FINISH = `UPDATE ${REGISTRATIONS.ref} SET ${R.status} = $1, ${R.updatedAt} = $2, ${R.completedAt} = $3, ${R.failureCode} = $4 WHERE ${R.id} = $5 AND ${R.status} = 'awaiting_private_key'`;

/**
 * The one place both registration strategies end: they record a Registration here. Each write carries
 * its registration event's webhook row in the same transaction (TransactionalEvents), and the domain
 * event (src/events/) is published once the row is written.
 */
@Injectable()
export class RegistrationsService implements OnModuleInit {
  private readonly sql: SqlEngine;

  constructor(
    @InjectRepository(Registration) private readonly registrations: Repository<Registration>,
    @InjectDataSource() dataSource: DataSource,
    private readonly events: TransactionalEvents,
    private readonly encryption: DataEncryption,
    private readonly bindings: RegistrationBindings,
    @Inject(registrationConfig.KEY) private readonly config: ConfigType<typeof registrationConfig>,
  ) {
    this.sql = SqlEngine.of(dataSource);
  }

  onModuleInit(): void {
    // The session guard asks this when a connection route is called with a binding instead of a session.
    this.bindings.use((secret, client) => this.findBound(secret, client));
  }

  /** Seconds a completed own-form registration's binding may stand in for a session (REGISTRATION_CONNECT_WINDOW_SECONDS). */
  get connectWindowSeconds(): number {
    return this.config.connectWindowSeconds;
  }

  /** Whether `secret`, presented by a client of this kind, is the one `registration` was bound to. Constant time. */
  static isBoundTo(registration: Registration, secret: string | undefined, client: BindingClient): boolean {
    if (secret === undefined || !isOpaqueToken(secret)) return false;
    if (registration.bindingHash === null || registration.bindingClient !== client) return false;
    return sameHex(sha256Hex(secret), registration.bindingHash);
  }

  /**
   * The registration this binding secret belongs to (own-form or invitation: only they carry one), when
   * it was completed less than the connect window ago: its client may then act for the registered MydexID on the connection routes.
   */
  async findBound(secret: string, client: BindingClient): Promise<BoundRegistration | null> {
    if (!isOpaqueToken(secret) || this.config.connectWindowSeconds <= 0) return null;
    const row = await this.registrations.findOneBy({ bindingHash: sha256Hex(secret), bindingClient: client, status: 'completed' });
    if (!row || row.completedAt === null || !row.mydexid) return null;
    const until = new Date(row.completedAt.getTime() + this.config.connectWindowSeconds * 1000);
    // Also refuses a time that does not parse (NaN compares false).
    if (!(until.getTime() > Date.now())) return null;
    return { registrationId: row.id, client, mydexid: row.mydexid, until };
  }

  async create(input: NewRegistration, origin: EventOrigin = {}): Promise<Registration> {
    const now = new Date();
    const id = input.id ?? randomUUID();
    const registration = this.registrations.create({
      id,
      strategy: input.strategy,
      status: input.status,
      mydexid: input.mydexid ?? null,
      emailSealed: input.email ? sealText(this.encryption, input.email, registrationEmailContext(id)) : null,
      sub: input.sub ?? null,
      returnTo: input.returnTo ?? null,
      failureCode: null,
      createdAt: now,
      updatedAt: now,
      completedAt: input.status === 'completed' ? now : null,
      expiresAt: input.expiresAt ?? null,
      bindingHash: input.binding?.hash ?? null,
      bindingClient: input.binding?.client ?? null,
    });
    // Not a TypeORM transaction: on SQLite TypeORM shares one connection, so concurrent requests'
    // transactions would nest into each other. SqlEngine writes the row and its webhook row atomically.
    const event = this.eventOf(registration, origin);
    const alongside = input.alongside ? [input.alongside(id)] : [];
    await this.sql.writeAtomically([...alongside, insertStatement(REGISTRATIONS, { ...registration }), ...event.statements]);
    event.committed();
    return registration;
  }

  findById(id: string): Promise<Registration | null> {
    return this.registrations.findOneBy({ id });
  }

  /** Moves a registration to a final status once; returns the row as it now stands. */
  async finish(
    id: string,
    status: Exclude<RegistrationStatus, 'awaiting_private_key'>,
    failureCode?: string,
    origin: EventOrigin = {},
  ): Promise<Registration | null> {
    const before = await this.findById(id);
    if (!before) return null;
    const now = new Date();
    const finished: Registration = {
      ...before,
      status,
      updatedAt: now,
      completedAt: status === 'completed' ? now : null,
      failureCode: failureCode ?? null,
    };
    const event = this.eventOf(finished, origin);
    // Only the request that moved it writes the webhook and publishes (a concurrent return finds it already finished).
    const [affected] = await this.sql.transaction([
      [FINISH, [status, now, finished.completedAt, finished.failureCode, id]],
      (changed) => (changed[0] > 0 ? event.statements : []),
    ]);
    if (affected > 0) event.committed();
    return this.findById(id);
  }

  /** The event for a registration's status as it is being written. */
  private eventOf(row: Registration, { requestId }: EventOrigin): PreparedEvent {
    const facts = { registrationId: row.id, strategy: row.strategy, mydexid: row.mydexid, requestId };
    if (row.status === 'awaiting_private_key') {
      return this.events.prepare('registration.started', {
        ...facts,
        client: row.bindingClient,
        expiresAt: row.expiresAt?.toISOString() ?? null,
        occurredAt: row.createdAt.toISOString(),
      });
    }
    if (row.status === 'completed') {
      return this.events.prepare('registration.completed', {
        ...facts,
        sub: row.sub,
        occurredAt: (row.completedAt ?? row.updatedAt).toISOString(),
      });
    }
    return this.events.prepare('registration.failed', {
      ...facts,
      status: row.status,
      reason: row.failureCode ?? row.status,
      occurredAt: row.updatedAt.toISOString(),
    });
  }
}
