import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { createHash } from 'node:crypto';
import { ProblemException } from '../common/problem/problem.exception.js';
import { connectionConfig } from '../config/connection.config.js';
import { DomainEventPublisher } from '../events/domain-event.publisher.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { MydexClient } from '../mydex/mydex.client.js';
import { PeriodicPurge } from '../persistence/periodic-purge.js';
import { dateColumn } from '../persistence/sql-engine.js';
import type { AuthenticatedMember } from '../session/authenticated-member.js';
import { SessionConnectionStatus } from '../session/connection-status.js';
import { TransactionalEvents } from '../webhooks/transactional-events.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';
import { deliveryFingerprint, type CallbackDelivery, type ConnectionDelivery } from './callback-delivery.js';
import {
  approvedVersion,
  changeOf,
  decide,
  isIdentified,
  isUniqueViolation,
  withFingerprint,
  type DeliveryContext,
  type DeliveryOutcome,
  type QuarantineReason,
} from './connection-rules.js';
import type { Connection } from './connection.entity.js';
import { ConnectionRepository } from './connection.repository.js';
import type { ConnectionNotificationViewDto } from './connections.dto.js';
import type { NormalisedPermissions } from './permissions.js';

export type { DeliveryContext } from './connection-rules.js';

/** What the member-facing endpoints may show: everything but the key. */
export interface ConnectionView {
  connectionId: string;
  uid: number;
  mydexid: string;
  permissions: NormalisedPermissions;
  version: number;
  connectedAt: Date;
  updatedAt: Date;
}

/** At most this often per instance, events older than the retention are deleted. */
const PURGE_EVENTS_EVERY_MS = 60 * 60 * 1000;
const DAY_MS = 24 * 3600 * 1000;
/** How many notifications GET /v1/connections/me shows. */
export const NOTIFICATIONS_SHOWN = 5;

/**
 * The connection rules: which callback delivery is applied, kept as a duplicate or quarantined
 * (connection-rules.ts), with which agreement version, and whether a member may start a connection
 * (already connected, or an update to a newer agreement). Every authenticated delivery is kept,
 * sealed, in connection_events (ConnectionRepository, which owns the tables' SQL). An applied delivery
 * is written atomically with its event and its webhook row (one transaction on SQLite, one statement
 * on PostgreSQL): the upsert on connection_id (the database's own `INSERT … ON CONFLICT
 * (connection_id) DO UPDATE`, so duplicate and concurrent deliveries end as one row).
 */
@Injectable()
export class ConnectionsService implements OnModuleInit {
  private readonly logger = new Logger('ConnectionCallback');
  /** The audit trail is kept for CONNECTION_EVENTS_RETENTION_DAYS (0: for ever). */
  private readonly purgeEvents = new PeriodicPurge('old connection events', PURGE_EVENTS_EVERY_MS, (now) =>
    this.repository.deleteEventsBefore(new Date(now - this.connection.eventRetentionDays * DAY_MS)),
  );

  constructor(
    private readonly repository: ConnectionRepository,
    @Inject(connectionConfig.KEY) private readonly connection: ConfigType<typeof connectionConfig>,
    private readonly sessionStatus: SessionConnectionStatus,
    private readonly metrics: MetricsService,
    private readonly webhooks: WebhookOutbox,
    private readonly events: TransactionalEvents,
    private readonly domainEvents: DomainEventPublisher,
    private readonly mydex: MydexClient,
  ) {}

  onModuleInit(): void {
    // GET /v1/session answers `connected` through this lookup (the Session module cannot import us),
    // and the same check as SQL, for the session lookup to read in its one statement.
    this.sessionStatus.use(
      (member) => (member.mydexid ? this.isConnected(member.mydexid) : Promise.resolve(false)),
      (mydexidColumn) => this.repository.connectedSql(mydexidColumn),
    );
  }

  /** Whether the member with this MydexID (in any letter case) has a connection. */
  isConnected(mydexid: string): Promise<boolean> {
    return this.repository.isConnected(mydexid.toLowerCase());
  }

  /**
   * Starts a First Time Connection for the member, or, when the member approved an older agreement
   * version than the configured one (MYDEX_CONNECTION_VERSION), the update to it; `already_connected`
   * when connected at the configured version. Answers Mydex's DSSA URL.
   */
  async start(member: AuthenticatedMember, returnTo: string): Promise<{ url: string; kind: 'first' | 'update' }> {
    if (!member.mydexid) {
      // The MydexID may be unknown when FTC starts (Mydex's FTC page [S]): a first connection without
      // one, and our linking token so the callback can be found again. An update is never started
      // without a MydexID (IDaaS requires it for version > 1 [S]); without one we cannot know of an
      // existing connection except by the linking token, and that one is refused as connected.
      const linkingToken = linkingTokenOf(member);
      const linked = await this.findByLinkingToken(linkingToken);
      if (linked) throw new ProblemException('already_connected', `Already connected at agreement version ${linked.version}.`);
      const { url } = await this.mydex.startConnection({ returnTo, linkingToken });
      return { url, kind: 'first' };
    }
    const existing = await this.findByMydexid(member.mydexid);
    const configured = this.connection.version;
    if (existing && existing.version >= configured) {
      throw new ProblemException('already_connected', `Already connected at agreement version ${existing.version}.`);
    }
    const { url } = await this.mydex.startConnection(
      existing ? { mydexid: member.mydexid, returnTo, version: configured } : { mydexid: member.mydexid, returnTo },
    );
    return { url, kind: existing ? 'update' : 'first' };
  }

  /** The member's connection: by MydexID; a session without one finds the connection its First Time Connection's linking token named. */
  connectionOf(member: AuthenticatedMember): Promise<ConnectionView | null> {
    if (member.mydexid) return this.findByMydexid(member.mydexid);
    return member.via === 'session' ? this.findByLinkingToken(linkingTokenOf(member)) : Promise.resolve(null);
  }

  /**
   * Keeps one authenticated delivery (sealed) and applies it when it may be applied. A refused one
   * (unparseable, or no key) is kept with its raw body and its problem is thrown for the answer.
   * Nothing here logs a value: codes, ids and the request id only. A delivery's webhook row is written
   * with it, and once it is written it publishes `connection.established`, `connection.updated`,
   * `connection.notification` or `connection.quarantined` (a duplicate or refused delivery publishes nothing).
   */
  async record(delivery: CallbackDelivery, context: DeliveryContext, raw?: Buffer): Promise<void> {
    if (delivery.kind === 'refused') {
      await this.repository.writeRefused(delivery, raw, context, new Date());
      this.metrics.connectionDeliveries.inc({ status: 'refused', reason: delivery.reason });
      this.logger.warn(`delivery refused (${delivery.reason}) and kept sealed for the operator (request ${context.requestId})`);
      throw delivery.problem;
    }
    if (delivery.kind === 'notification') {
      const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 200) : typeof value === 'number' ? String(value) : null);
      const event = this.events.prepare('connection.notification', {
        connectionId: delivery.connectionId,
        uid: delivery.uid,
        dataset: text(delivery.body.dataset),
        action: text(delivery.body.action),
        updatedId: text(delivery.body.updated_id),
        requestId: context.requestId,
      });
      await this.repository.writeNotification(delivery, context, new Date(), event.statements);
      this.metrics.connectionDeliveries.inc({ status: 'received', reason: '' });
      event.committed();
      this.logger.log(`notification recorded for connection ${delivery.connectionId ?? '(none)'} (request ${context.requestId})`);
    } else {
      for (const anomaly of delivery.anomalies) this.metrics.connectionDeliveryAnomalies.inc({ anomaly });
      const anomalies = delivery.anomalies.length > 0 ? ` with anomalies ${delivery.anomalies.join(', ')}` : '';
      if (anomalies)
        this.logger.warn(`delivery for connection ${delivery.connectionId ?? '(none)'}${anomalies} (request ${context.requestId})`);
      const outcome = await this.deliver(delivery, context);
      this.metrics.connectionDeliveries.inc({ status: outcome.status, reason: outcome.status === 'quarantined' ? outcome.reason : '' });
      if (outcome.status === 'quarantined') {
        this.logger.warn(
          `delivery for connection ${delivery.connectionId ?? '(none)'} QUARANTINED (${outcome.reason}): stored, not applied; see npm run connections -- quarantine (request ${context.requestId})`,
        );
      } else if (outcome.status === 'duplicate') {
        this.logger.log(
          `connection ${delivery.connectionId} unchanged: a repeat of the delivery it reflects (request ${context.requestId})`,
        );
      } else {
        this.logger.log(
          `connection ${delivery.connectionId} stored from ${context.method}${outcome.moved ? " (the member's connection moved to it)" : ''} (request ${context.requestId})`,
        );
      }
    }
    // After the delivery is stored; beside the answer, never in it (PeriodicPurge).
    if (this.connection.eventRetentionDays > 0) this.purgeEvents.maybeRun();
  }

  /**
   * Stores one connection delivery and applies it unless it must be quarantined. A unique-index
   * conflict (another delivery for the same member committed between our read and our write) is
   * decided again once, against what that one wrote.
   */
  private async deliver(delivery: ConnectionDelivery, context: DeliveryContext, now = new Date()): Promise<DeliveryOutcome> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.decideAndWrite(delivery, context, now);
      } catch (error) {
        if (attempt >= 2 || !isUniqueViolation(error)) throw error;
      }
    }
  }

  private async decideAndWrite(delivery: ConnectionDelivery, context: DeliveryContext, now: Date): Promise<DeliveryOutcome> {
    if (!isIdentified(delivery)) return this.quarantine(delivery, context, now, 'unidentified');
    const rows = await this.repository.bindings(delivery);
    const fingerprint = deliveryFingerprint(delivery);
    const version = approvedVersion(delivery, this.connection.version);
    const decision = decide(rows, {
      uid: delivery.uid,
      mydexidLower: delivery.mydexid.toLowerCase(),
      connectionId: delivery.connectionId,
      fingerprint,
      version,
    });
    if (decision.action === 'quarantine') return this.quarantine(delivery, context, now, decision.reason);
    if (decision.action === 'duplicate') {
      await this.repository.writeEvent(delivery, context, now, 'duplicate', null);
      return { status: 'duplicate' };
    }
    const change = changeOf({ connectionId: delivery.connectionId, uid: delivery.uid, method: context.method, version }, decision.previous);
    // The integrator's webhook commits with the connection.
    const webhook = this.webhooks.statementFor({ type: change.name, data: change.facts });
    const applied = { delivery, context, now, fingerprints: withFingerprint(decision.history, fingerprint), version };
    await this.repository.writeApplied(applied, decision.moveFrom !== null, webhook ? [webhook.statement] : []);
    webhook?.committed();
    // The domain event also names the member; the webhook carries ids and the version only.
    const member = { mydexid: delivery.mydexid, requestId: context.requestId };
    if (change.name === 'connection.established') this.domainEvents.publish(change.name, { ...change.facts, ...member });
    else this.domainEvents.publish(change.name, { ...change.facts, ...member });
    return { status: 'applied', moved: decision.moveFrom !== null, change };
  }

  /** Keeps a delivery that must not be applied, its `connection.quarantined` webhook row with it. */
  private async quarantine(
    delivery: ConnectionDelivery,
    context: DeliveryContext,
    now: Date,
    reason: QuarantineReason,
  ): Promise<DeliveryOutcome> {
    const event = this.events.prepare('connection.quarantined', {
      connectionId: delivery.connectionId,
      uid: delivery.uid,
      mydexid: delivery.mydexid,
      method: context.method,
      reason,
      requestId: context.requestId,
    });
    await this.repository.writeEvent(delivery, context, now, 'quarantined', reason, event.statements);
    event.committed();
    return { status: 'quarantined', reason };
  }

  /** A body the parser refused (malformed JSON, not Unicode, too complex) from an admitted caller: kept sealed. */
  async keepUnparsed(raw: Buffer | undefined, reason: string, context: DeliveryContext): Promise<void> {
    await this.repository.writeRefused({ reason, body: null }, raw, context, new Date());
    this.metrics.connectionDeliveries.inc({ status: 'refused', reason });
    this.logger.warn(`delivery refused (${reason}) and kept sealed for the operator (request ${context.requestId})`);
  }

  /**
   * The member's connection, found by MydexID (whatever the letter case): the live row, the one bound
   * to the member's uid. A superseded row (an earlier connection_id, or a duplicate from before the
   * binding) is never answered, however recently it was written.
   */
  async findByMydexid(mydexid: string): Promise<ConnectionView | null> {
    const row = await this.repository.findLive(mydexid.toLowerCase());
    return row ? toView(row) : null;
  }

  /** The member's latest PDX notifications (by connection_id or uid), newest first. */
  async notificationsFor(connection: Pick<ConnectionView, 'connectionId' | 'uid'>): Promise<ConnectionNotificationViewDto[]> {
    const rows = await this.repository.latestNotifications(connection.connectionId, connection.uid, NOTIFICATIONS_SHOWN);
    const text = (value: unknown) => (typeof value === 'string' ? value : typeof value === 'number' ? String(value) : null);
    return rows.map(({ body, receivedAt }) => ({
      message: text(body.message),
      dataset: text(body.dataset),
      action: text(body.action),
      updatedId: text(body.updated_id),
      connectionId: text(body.connection_id),
      uid: typeof body.uid === 'number' || typeof body.uid === 'string' ? body.uid : null,
      receivedAt: dateColumn(receivedAt).toISOString(),
    }));
  }

  /**
   * The connection whose callback echoed this `linking_token`: how a member who started the First
   * Time Connection without a known MydexID finds it (POST /v1/connections sends one then). Mydex
   * documents the echo for IDaaS `/ftc/setup` [S]; for `/api/connection` it is assumed [I].
   */
  async findByLinkingToken(linkingToken: string): Promise<ConnectionView | null> {
    const row = await this.repository.findByLinkingToken(linkingToken);
    return row ? toView(row) : null;
  }

  /**
   * The decrypted member key, for the later PDS calls that need it (mydex-integration.md §8). Never
   * log or answer it.
   */
  memberKey(connectionId: string): Promise<string | null> {
    return this.repository.memberKey(connectionId);
  }
}

function toView(row: Connection): ConnectionView {
  return {
    connectionId: row.connectionId,
    uid: row.uid,
    mydexid: row.mydexid,
    permissions: JSON.parse(row.permissions) as NormalisedPermissions,
    version: row.version,
    connectedAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

/**
 * Our id for a member whose MydexID we do not know, sent as `linking_token` when the First Time
 * Connection starts without one: opaque (a hash of the OIDC issuer and subject, 43 characters), stable
 * across the member's sessions, and not a secret (it only finds the member's own connection again).
 */
function linkingTokenOf(member: AuthenticatedMember): string {
  return createHash('sha256').update(`bff-member\n${member.issuer}\n${member.sub}`).digest('base64url');
}
