import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { randomUUID } from 'node:crypto';
import type { Repository } from 'typeorm';
import { MetricsService } from '../metrics/metrics.service.js';
import { Registration, type RegistrationStatus, type RegistrationStrategy } from './registration.entity.js';

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
}

/** The one place both registration strategies end: they record a Registration here. */
@Injectable()
export class RegistrationsService {
  constructor(
    @InjectRepository(Registration) private readonly registrations: Repository<Registration>,
    private readonly metrics: MetricsService,
  ) {}

  async create(input: NewRegistration): Promise<Registration> {
    const now = new Date();
    const registration = this.registrations.create({
      id: input.id ?? randomUUID(),
      strategy: input.strategy,
      status: input.status,
      mydexid: input.mydexid ?? null,
      email: input.email ?? null,
      sub: input.sub ?? null,
      returnTo: input.returnTo ?? null,
      failureCode: null,
      createdAt: now,
      updatedAt: now,
      completedAt: input.status === 'completed' ? now : null,
      expiresAt: input.expiresAt ?? null,
    });
    // insert, not save: save() wraps a transaction, and on SQLite TypeORM shares one connection, so
    // concurrent requests' transactions would nest into each other. One INSERT is atomic by itself.
    await this.registrations.insert(registration);
    this.metrics.registrations.inc({ strategy: registration.strategy, outcome: registration.status });
    return registration;
  }

  findById(id: string): Promise<Registration | null> {
    return this.registrations.findOneBy({ id });
  }

  /** Moves a registration to a final status once; returns the row as it now stands. */
  async finish(id: string, status: Exclude<RegistrationStatus, 'awaiting_private_key'>, failureCode?: string): Promise<Registration | null> {
    const now = new Date();
    const { affected } = await this.registrations.update(
      { id, status: 'awaiting_private_key' },
      { status, updatedAt: now, completedAt: status === 'completed' ? now : null, failureCode: failureCode ?? null },
    );
    const row = await this.findById(id);
    if (affected && row) this.metrics.registrations.inc({ strategy: row.strategy, outcome: status });
    return row;
  }
}
