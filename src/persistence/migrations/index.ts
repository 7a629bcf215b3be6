import type { MigrationInterface } from 'typeorm';
import { Registrations1764480000000 } from './1764480000000-registrations.js';
import { IdempotencyKeys1764480600000 } from './1764480600000-idempotency-keys.js';
import { OidcTransactions1764480700000 } from './1764480700000-oidc-transactions.js';
import { Sessions1764480800000 } from './1764480800000-sessions.js';
import { Connections1764480900000 } from './1764480900000-connections.js';
import { ConnectionEventsReceivedAt1764493200000 } from './1764493200000-connection-events-received-at.js';
import { CallbackQuarantineAndSealing1764500000000 } from './1764500000000-callback-quarantine-and-sealing.js';
import { RegistrationBinding1764510000000 } from './1764510000000-registration-binding.js';
import { SessionIdleAndSid1764520000000 } from './1764520000000-session-idle-and-sid.js';
import { LogoutTokenJtis1764520000001 } from './1764520000001-logout-token-jtis.js';
import { RegistrationsMemberLookup1764530000000 } from './1764530000000-registrations-member-lookup.js';
import { WebhookOutbox1764540000000 } from './1764540000000-webhook-outbox.js';
import { Invitations1764550000000 } from './1764550000000-invitations.js';

/** Every migration, in order. Each runs on SQLite and PostgreSQL alike (see column-types.ts). */
export const MIGRATIONS: (new () => MigrationInterface)[] = [
  Registrations1764480000000,
  IdempotencyKeys1764480600000,
  OidcTransactions1764480700000,
  Sessions1764480800000,
  Connections1764480900000,
  ConnectionEventsReceivedAt1764493200000,
  CallbackQuarantineAndSealing1764500000000,
  RegistrationBinding1764510000000,
  SessionIdleAndSid1764520000000,
  LogoutTokenJtis1764520000001,
  RegistrationsMemberLookup1764530000000,
  WebhookOutbox1764540000000,
  Invitations1764550000000,
];
