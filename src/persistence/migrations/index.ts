import type { MigrationInterface } from 'typeorm';
import { Registrations1764480000000 } from './1764480000000-registrations.js';

/** Every migration, in order. Each runs on SQLite and PostgreSQL alike (see column-types.ts). */
export const MIGRATIONS: (new () => MigrationInterface)[] = [Registrations1764480000000];
