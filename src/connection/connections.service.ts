import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { IsNull, LessThan, type DataSource, type Repository } from 'typeorm';
import { DataEncryption } from '../common/crypto/data-encryption.js';
import { connectionConfig } from '../config/connection.config.js';
import { mydexConfig } from '../config/mydex.config.js';
import { DomainEventPublisher } from '../events/domain-event.publisher.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { SessionConnectionStatus } from '../session/connection-status.js';
import type { CallbackDelivery, ConnectionDelivery } from './callback-delivery.js';
import { Connection, ConnectionEvent, CONNECTIONS, sealContext } from './connection.entity.js';
import { ConnectionStore, type DeliveryContext, type DeliveryOutcome } from './connection-store.js';
import type { ConnectionNotificationViewDto } from './connections.dto.js';
import { PeriodicPurge } from '../persistence/periodic-purge.js';
import { PreparedQuery } from '../persistence/prepared-query.js';
import { dateColumn } from '../persistence/sql-engine.js';
import type { NormalisedPermissions } from './permissions.js';
import { WebhookOutbox } from '../webhooks/webhook-outbox.js';

export type { DeliveryContext } from './connection-store.js';

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

/** At most this often per instance, events older than the retention are deleted, this many per statement. */
const PURGE_EVENTS_EVERY_MS = 60 * 60 * 1000;
const PURGE_BATCH = 500;
const DAY_MS = 24 * 3600 * 1000;
/** How many notifications GET /v1/connections/me shows. */
export const NOTIFICATIONS_SHOWN = 5;

/**
 * The connections store. Every authenticated delivery is kept, sealed, in connection_events, and
 * applied unless it would change the member's binding or roll the connection back (ConnectionStore:
 * then it is quarantined for the operator). An applied delivery is written atomically (one
 * transaction on SQLite, one statement on PostgreSQL): the upsert on connection_id (the database's
 * own `INSERT … ON CONFLICT (connection_id) DO UPDATE`, so duplicate and concurrent deliveries end as
 * one row) and the event row.
 */
@Injectable()
export class ConnectionsService implements OnModuleInit {
  private readonly logger = new Logger('ConnectionCallback');
  private readonly store: ConnectionStore;
  /** `GET /v1/session` asks this on every call, so it is a prepared statement rather than a TypeORM find. */
  private readonly connectedByMydexid: PreparedQuery<{ found: number }>;
  /** The audit trail is kept for CONNECTION_EVENTS_RETENTION_DAYS (0: for ever). */
  private readonly purgeEvents = new PeriodicPurge('old connection events', PURGE_EVENTS_EVERY_MS, (now) => this.deleteEventsBefore(new Date(now - this.connection.eventRetentionDays * DAY_MS)));

  constructor(
    @InjectDataSource() dataSource: DataSource,
    @InjectRepository(Connection) private readonly connections: Repository<Connection>,
    @InjectRepository(ConnectionEvent) private readonly events: Repository<ConnectionEvent>,
    private readonly encryption: DataEncryption,
    @Inject(connectionConfig.KEY) private readonly connection: ConfigType<typeof connectionConfig>,
    @Inject(mydexConfig.KEY) mydex: ConfigType<typeof mydexConfig>,
    private readonly sessionStatus: SessionConnectionStatus,
    private readonly metrics: MetricsService,
    webhooks: WebhookOutbox,
    private readonly domainEvents: DomainEventPublisher,
  ) {
    this.store = new ConnectionStore(dataSource, encryption, { configuredVersion: connection.version, connectionNid: mydex.connectionNid }, webhooks);
    this.connectedByMydexid = new PreparedQuery(dataSource, `SELECT 1 AS "found" FROM ${CONNECTIONS.ref} WHERE ${CONNECTIONS.c.mydexidLower} = $1 AND ${CONNECTIONS.c.supersededAt} IS NULL LIMIT 1`);
  }

  onModuleInit(): void {
    // GET /v1/session answers `connected` through this lookup (the Session module cannot import us).
    // The same check as SQL, for the session lookup to read in its one statement. SQL lower() folds
    // ASCII letters as toLowerCase() does, and a MydexID is ASCII letters and digits.
    this.sessionStatus.use(
      (member) => (member.mydexid ? this.isConnected(member.mydexid) : Promise.resolve(false)),
      (mydexidColumn) => `EXISTS (SELECT 1 FROM ${CONNECTIONS.ref} WHERE ${CONNECTIONS.c.mydexidLower} = lower(${mydexidColumn}) AND ${CONNECTIONS.c.supersededAt} IS NULL)`,
    );
  }

  /** Whether the member with this MydexID (in any letter case) has a connection. */
  async isConnected(mydexid: string): Promise<boolean> {
    return (await this.connectedByMydexid.first([mydexid.toLowerCase()])) !== undefined;
  }

  /**
   * Keeps one authenticated delivery (sealed) and applies it when it may be applied. A refused one
   * (unparseable, or no key) is kept with its raw body and its problem is thrown for the answer.
   * Nothing here logs a value: codes, ids and the request id only. Once a delivery is written it
   * publishes `connection.established`, `connection.updated`, `connection.notification` or
   * `connection.quarantined` (a duplicate or refused delivery publishes nothing).
   */
  async record(delivery: CallbackDelivery, context: DeliveryContext, raw?: Buffer): Promise<void> {
    if (delivery.kind === 'refused') {
      await this.store.refused(delivery, raw, context);
      this.metrics.connectionDeliveries.inc({ status: 'refused', reason: delivery.reason });
      this.logger.warn(`delivery refused (${delivery.reason}) and kept sealed for the operator (request ${context.requestId})`);
      throw delivery.problem;
    }
    if (delivery.kind === 'notification') {
      await this.store.notification(delivery, context);
      this.metrics.connectionDeliveries.inc({ status: 'received', reason: '' });
      const text = (value: unknown) => (typeof value === 'string' ? value.slice(0, 200) : typeof value === 'number' ? String(value) : null);
      this.domainEvents.publish('connection.notification', {
        connectionId: delivery.connectionId,
        uid: delivery.uid,
        dataset: text(delivery.body.dataset),
        action: text(delivery.body.action),
        updatedId: text(delivery.body.updated_id),
        requestId: context.requestId,
      });
      this.logger.log(`notification recorded for connection ${delivery.connectionId ?? '(none)'} (request ${context.requestId})`);
    } else {
      for (const anomaly of delivery.anomalies) this.metrics.connectionDeliveryAnomalies.inc({ anomaly });
      const anomalies = delivery.anomalies.length > 0 ? ` with anomalies ${delivery.anomalies.join(', ')}` : '';
      if (anomalies) this.logger.warn(`delivery for connection ${delivery.connectionId ?? '(none)'}${anomalies} (request ${context.requestId})`);
      const outcome = await this.store.deliver(delivery, context);
      this.metrics.connectionDeliveries.inc({ status: outcome.status, reason: outcome.status === 'quarantined' ? outcome.reason : '' });
      this.publishDelivery(delivery, context, outcome);
      if (outcome.status === 'quarantined') {
        this.logger.warn(
          `delivery for connection ${delivery.connectionId ?? '(none)'} QUARANTINED (${outcome.reason}): stored, not applied; see npm run connections -- quarantine (request ${context.requestId})`,
        );
      } else if (outcome.status === 'duplicate') {
        this.logger.log(`connection ${delivery.connectionId} unchanged: a repeat of the delivery it reflects (request ${context.requestId})`);
      } else {
        this.logger.log(`connection ${delivery.connectionId} stored from ${context.method}${outcome.moved ? ' (the member\'s connection moved to it)' : ''} (request ${context.requestId})`);
      }
    }
    // After the delivery is stored; beside the answer, never in it (PeriodicPurge).
    if (this.connection.eventRetentionDays > 0) this.purgeEvents.maybeRun();
  }

  /** The event of a connection delivery as the store wrote it (a duplicate changed nothing: none). */
  private publishDelivery(delivery: ConnectionDelivery, context: DeliveryContext, outcome: DeliveryOutcome): void {
    const { method, requestId } = context;
    if (outcome.status === 'quarantined') {
      this.domainEvents.publish('connection.quarantined', { connectionId: delivery.connectionId, uid: delivery.uid, mydexid: delivery.mydexid, method, reason: outcome.reason, requestId });
    } else if (outcome.status === 'applied' && delivery.mydexid !== null) {
      // Applied deliveries always carry a MydexID (the store quarantines the others as unidentified).
      const { change } = outcome;
      const member = { mydexid: delivery.mydexid, requestId };
      if (change.name === 'connection.established') this.domainEvents.publish(change.name, { ...change.facts, ...member });
      else this.domainEvents.publish(change.name, { ...change.facts, ...member });
    }
  }

  /** A body the parser refused (malformed JSON, not Unicode, too complex) from an admitted caller: kept sealed. */
  async keepUnparsed(raw: Buffer | undefined, reason: string, context: DeliveryContext): Promise<void> {
    await this.store.refused({ reason, body: null }, raw, context);
    this.metrics.connectionDeliveries.inc({ status: 'refused', reason });
    this.logger.warn(`delivery refused (${reason}) and kept sealed for the operator (request ${context.requestId})`);
  }

  /**
   * Deletes connection_events received before `cutoff`, in batches (by the received_at index), yielding
   * between them: the first purge after an upgrade may meet years of events, and on SQLite every
   * statement holds the process.
   */
  async deleteEventsBefore(cutoff: Date): Promise<number> {
    let deleted = 0;
    for (;;) {
      const batch = await this.events.find({ select: { id: true }, where: { receivedAt: LessThan(cutoff) }, order: { receivedAt: 'ASC' }, take: PURGE_BATCH });
      if (batch.length === 0) return deleted;
      await this.events.delete(batch.map((event) => event.id));
      deleted += batch.length;
      if (batch.length < PURGE_BATCH) return deleted;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /**
   * The member's connection, found by MydexID (whatever the letter case): the live row, the one bound
   * to the member's uid. A superseded row (an earlier connection_id, or a duplicate from before the
   * binding) is never answered, however recently it was written.
   */
  async findByMydexid(mydexid: string): Promise<ConnectionView | null> {
    const row = await this.connections.findOne({ where: { mydexidLower: mydexid.toLowerCase(), supersededAt: IsNull() } });
    return row ? toView(row) : null;
  }

  /** The member's latest PDX notifications (by connection_id or uid), newest first. */
  async notificationsFor(connection: Pick<ConnectionView, 'connectionId' | 'uid'>): Promise<ConnectionNotificationViewDto[]> {
    const rows = await this.store.latestNotifications(connection.connectionId, connection.uid, NOTIFICATIONS_SHOWN);
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
    const row = await this.connections.findOne({ where: { linkingToken }, order: { updatedAt: 'DESC' } });
    return row ? toView(row) : null;
  }

  /**
   * The decrypted member key, for the later PDS calls that need it (mydex-integration.md §8). Never
   * log or answer it.
   */
  async memberKey(connectionId: string): Promise<string | null> {
    const row = await this.connections.findOneBy({ connectionId });
    if (!row) return null;
    return this.encryption.open({ keyId: row.keyId, iv: row.keyIv, tag: row.keyTag, ciphertext: row.keyCiphertext }, sealContext(row.connectionId));
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
