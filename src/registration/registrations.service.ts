import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { runInTransaction, type Statement } from '../connection/engine-transaction.js';
import { registrationConfig } from '../config/registration.config.js';
import { DomainEventPublisher } from '../events/domain-event.publisher.js';
import type { EventOrigin } from '../events/domain-events.js';
import { RegistrationBindings, type BindingClient, type BoundRegistration } from '../session/registration-binding.js';
import { isOpaqueToken, sameHex, sha256Hex } from '../session/session-token.js';
import { DataEncryption } from '../common/crypto/data-encryption.js';
import { sealText } from '../common/crypto/sealed-text.js';
import { Registration, registrationEmailContext, type RegistrationClient, type RegistrationStatus, type RegistrationStrategy } from './registration.entity.js';

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
   * here): a statement for the row's id, run first in one transaction with the insert
   * (engine-transaction.ts); when it fails, neither is written.
   */
  alongside?: (registrationId: string) => Statement;
}

/**
 * The one place both registration strategies end: they record a Registration here, and the
 * registration events (src/events/) are published here once the row is written.
 */
@Injectable()
export class RegistrationsService implements OnModuleInit {
  constructor(
    @InjectRepository(Registration) private readonly registrations: Repository<Registration>,
    private readonly events: DomainEventPublisher,
    private readonly encryption: DataEncryption,
    private readonly bindings: RegistrationBindings,
    @Inject(registrationConfig.KEY) private readonly config: ConfigType<typeof registrationConfig>,
  ) {}

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
    // insert, not save: save() wraps a transaction, and on SQLite TypeORM shares one connection, so
    // concurrent requests' transactions would nest into each other. One INSERT is atomic by itself;
    // with another write, both run as runInTransaction's statements, which never nest.
    if (input.alongside === undefined) await this.registrations.insert(registration);
    else await runInTransaction(this.registrations.manager.connection, [input.alongside(id), this.registrations.createQueryBuilder().insert().values(registration).getQueryAndParameters()]);
    this.publish(registration, origin);
    return registration;
  }

  findById(id: string): Promise<Registration | null> {
    return this.registrations.findOneBy({ id });
  }

  /** Moves a registration to a final status once; returns the row as it now stands. */
  async finish(id: string, status: Exclude<RegistrationStatus, 'awaiting_private_key'>, failureCode?: string, origin: EventOrigin = {}): Promise<Registration | null> {
    const now = new Date();
    const { affected } = await this.registrations.update(
      { id, status: 'awaiting_private_key' },
      { status, updatedAt: now, completedAt: status === 'completed' ? now : null, failureCode: failureCode ?? null },
    );
    const row = await this.findById(id);
    // Only the request that moved it publishes (a concurrent return finds it already finished).
    if (affected && row) this.publish(row, origin);
    return row;
  }

  /** The event for a registration's status as just written. */
  private publish(row: Registration, { requestId }: EventOrigin): void {
    const facts = { registrationId: row.id, strategy: row.strategy, mydexid: row.mydexid, requestId };
    if (row.status === 'awaiting_private_key') {
      this.events.publish('registration.started', {
        ...facts,
        client: row.bindingClient,
        expiresAt: row.expiresAt?.toISOString() ?? null,
        occurredAt: row.createdAt.toISOString(),
      });
    } else if (row.status === 'completed') {
      this.events.publish('registration.completed', { ...facts, sub: row.sub, occurredAt: (row.completedAt ?? row.updatedAt).toISOString() });
    } else {
      this.events.publish('registration.failed', { ...facts, status: row.status, reason: row.failureCode ?? row.status, occurredAt: row.updatedAt.toISOString() });
    }
  }
}
