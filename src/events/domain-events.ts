import type { QuarantineReason } from '../connection/connection-rules.js';
import type { RegistrationClient, RegistrationStrategy } from '../registration/registration.entity.js';
import type { SessionClient } from '../session/member-session.entity.js';

/**
 * The BFF's domain events: facts other modules may react to, published by DomainEventPublisher once
 * the change is written (docs/extending.md, "Subscribe to an event"). A payload carries ids and facts
 * only: never a password, member key, token, client secret, email or callback `fields` value.
 */
export const DOMAIN_EVENT_NAMES = [
  'registration.started',
  'registration.completed',
  'registration.failed',
  'member.logged_in',
  'member.logged_out',
  'connection.established',
  'connection.updated',
  'connection.notification',
  'connection.quarantined',
] as const satisfies readonly (keyof DomainEventPayloads)[];

export type DomainEventName = (typeof DOMAIN_EVENT_NAMES)[number];

/** Whether an event type is selected by one entry of a filter such as WEBHOOK_EVENTS: `*`, the exact name, or `prefix.*`. */
export function eventSelectedBy(entry: string, type: string): boolean {
  return entry === '*' || entry === type || (entry.endsWith('.*') && type.startsWith(entry.slice(0, -1)));
}

/** What every event carries. */
export interface DomainEventBase {
  /** When the fact happened (ISO 8601): the time written with it, where there is one. */
  occurredAt: string;
  /** The id of the HTTP request it happened in (the `X-Request-Id` answered), when there was one. */
  requestId?: string;
}

/** Where a publisher's caller says an event happened: the request, when there is one. */
export type EventOrigin = Pick<DomainEventBase, 'requestId'>;

/** The origin of what happens while handling `request` (Fastify's request id); none without one. */
export function originOf(request: { id?: unknown } | undefined): EventOrigin {
  return request?.id === undefined ? {} : { requestId: String(request.id) };
}

/** An own-form registration was accepted by Mydex and recorded; the member is on their way to Mydex's Private Key form. */
export interface RegistrationStartedEvent extends DomainEventBase {
  registrationId: string;
  strategy: RegistrationStrategy;
  mydexid: string | null;
  /** The kind of client the registration is bound to. */
  client: RegistrationClient | null;
  /** Until when the return from the Private Key form is awaited (ISO 8601). */
  expiresAt: string | null;
}

/** A registration completed: own-form on the bound client's return from Mydex, OIDC at the callback of a member new to the BFF. */
export interface RegistrationCompletedEvent extends DomainEventBase {
  registrationId: string;
  strategy: RegistrationStrategy;
  mydexid: string | null;
  /** The member's subject at Mydex (OIDC); null for own-form (not known without a login). */
  sub: string | null;
}

/** A registration did not happen or ended without completing. */
export interface RegistrationFailedEvent extends DomainEventBase {
  /** Null when nothing was recorded (`status: 'refused'`). */
  registrationId: string | null;
  strategy: RegistrationStrategy;
  /** The MydexID asked for (already checked against the registration rules). */
  mydexid: string | null;
  /**
   * `refused`: Mydex refused the submission, nothing was recorded. `failed`/`expired`: a recorded
   * registration ended so; not published yet (expiry is computed when a registration is read).
   */
  status: 'refused' | 'failed' | 'expired';
  /** A problem `code` (`mydexid_taken`, `upstream_unavailable`…), `error` for an unexpected failure, or the record's failure code. */
  reason: string;
}

/** A member session began (web: at the OIDC callback; native: when the app exchanged its one-time code). */
export interface MemberLoggedInEvent extends DomainEventBase {
  /** The session's row id (never its token). */
  sessionId: string;
  client: SessionClient;
  issuer: string;
  sub: string;
  mydexid: string | null;
  /** What the client asked for at authorize; `register` by a member already known here is a login too. */
  intent: 'login' | 'register';
}

/** Member sessions ended at the member's request or Mydex's. Not published when nothing was live any more. */
export interface MemberLoggedOutEvent extends DomainEventBase {
  /** `logout`: this session; `logout_all`: every session of the member; `backchannel`: Mydex's logout token. */
  reason: 'logout' | 'logout_all' | 'backchannel';
  issuer: string;
  /** Null for a logout token naming only Mydex's session (`sid`). */
  sub: string | null;
  mydexid: string | null;
  /** The session the member logged out from; null for back-channel logout. */
  sessionId: string | null;
  /** The Mydex session a logout token named; null otherwise. */
  sid: string | null;
  sessionsEnded: number;
}

/** What every applied connection's event carries. */
export interface ConnectionFacts extends DomainEventBase {
  connectionId: string;
  uid: number;
  mydexid: string;
  /** How Mydex delivered it: POST (First Time Connection) or PUT (re-approved agreement). */
  method: 'POST' | 'PUT';
  /** The agreement version now approved. */
  version: number;
}

/** A callback gave a member who had no connection here one (applied, key stored). */
export type ConnectionEstablishedEvent = ConnectionFacts;

/** A callback changed the connection of a member who already had one (a repeat of the same delivery publishes nothing). */
export interface ConnectionUpdatedEvent extends ConnectionFacts {
  /** The member's connection_id before, when the connection moved to another one; else null. */
  previousConnectionId: string | null;
}

/** Mydex sent a PDX notification (stored, shown in GET /v1/connections/me). Its `message` text is not carried. */
export interface ConnectionNotificationEvent extends DomainEventBase {
  connectionId: string | null;
  uid: number | null;
  dataset: string | null;
  action: string | null;
  updatedId: string | null;
}

/** An authenticated callback was stored but not applied; the operator decides (docs/connections.md). */
export interface ConnectionQuarantinedEvent extends DomainEventBase {
  connectionId: string | null;
  uid: number | null;
  mydexid: string | null;
  method: 'POST' | 'PUT';
  reason: QuarantineReason;
}

/** The payload of each event, by name. */
export interface DomainEventPayloads {
  'registration.started': RegistrationStartedEvent;
  'registration.completed': RegistrationCompletedEvent;
  'registration.failed': RegistrationFailedEvent;
  'member.logged_in': MemberLoggedInEvent;
  'member.logged_out': MemberLoggedOutEvent;
  'connection.established': ConnectionEstablishedEvent;
  'connection.updated': ConnectionUpdatedEvent;
  'connection.notification': ConnectionNotificationEvent;
  'connection.quarantined': ConnectionQuarantinedEvent;
}

/** What a publisher passes: the payload, `occurredAt` defaulting to now. */
export type DomainEventInput<N extends DomainEventName> = Omit<DomainEventPayloads[N], 'occurredAt'> & { occurredAt?: string };
