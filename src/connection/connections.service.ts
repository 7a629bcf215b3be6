import { Inject, Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectDataSource, InjectRepository } from '@nestjs/typeorm';
import { LessThan, type DataSource, type Repository } from 'typeorm';
import { DataEncryption } from '../common/crypto/data-encryption.js';
import { connectionConfig } from '../config/connection.config.js';
import { SessionConnectionStatus } from '../session/connection-status.js';
import type { CallbackDelivery, ConnectionDelivery } from './callback-delivery.js';
import { Connection, ConnectionEvent, sealContext } from './connection.entity.js';
import { PeriodicPurge } from '../persistence/periodic-purge.js';
import { PreparedQuery } from '../persistence/prepared-query.js';
import { writeAtomically, type Statement } from './engine-transaction.js';
import { normalisePermissions, type NormalisedPermissions } from './permissions.js';

export interface DeliveryContext {
  method: 'POST' | 'PUT';
  contentType: 'form' | 'json';
  requestId: string;
}

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

const CONNECTION_COLUMNS = [
  'connection_id',
  'uid',
  'mydexid',
  'mydexid_lower',
  'key_id',
  'key_iv',
  'key_tag',
  'key_ciphertext',
  'permissions_raw',
  'permissions',
  'version',
  'linking_token',
  'last_method',
  'created_at',
  'updated_at',
];
/** Columns a repeated delivery overwrites: all but the key and `created_at` (the first connection's time). */
const UPSERT_COLUMNS = CONNECTION_COLUMNS.filter((column) => column !== 'connection_id' && column !== 'created_at');
const EVENT_COLUMNS = ['kind', 'method', 'connection_id', 'uid', 'content_type', 'request_id', 'payload', 'received_at'];

/**
 * The two statements of a delivery, written out once per engine (the same SQL on both but for the
 * placeholders): building them per request with TypeORM's query builder cost more than the writes.
 */
function deliverySql(postgres: boolean): { upsert: string; event: string } {
  const names = (columns: string[]) => columns.map((column) => `"${column}"`).join(', ');
  const placeholders = (n: number) => Array.from({ length: n }, (_, i) => (postgres ? `$${i + 1}` : '?')).join(', ');
  return {
    upsert:
      `INSERT INTO "connections" (${names(CONNECTION_COLUMNS)}) VALUES (${placeholders(CONNECTION_COLUMNS.length)}) ` +
      `ON CONFLICT ("connection_id") DO UPDATE SET ${UPSERT_COLUMNS.map((column) => `"${column}" = EXCLUDED."${column}"`).join(', ')}`,
    event: `INSERT INTO "connection_events" (${names(EVENT_COLUMNS)}) VALUES (${placeholders(EVENT_COLUMNS.length)})`,
  };
}

/**
 * The connections store. A delivery is written atomically (one transaction on SQLite, one statement
 * on PostgreSQL): the upsert on connection_id (the database's own `INSERT … ON CONFLICT
 * (connection_id) DO UPDATE`, never read-then-write, so duplicate and concurrent deliveries end as
 * one row) and the event row.
 */
@Injectable()
export class ConnectionsService implements OnModuleInit {
  private readonly logger = new Logger('ConnectionCallback');
  private readonly sql: { upsert: string; event: string };
  /** `GET /v1/session` asks this on every call, so it is a prepared statement rather than a TypeORM find. */
  private readonly connectedByMydexid: PreparedQuery<{ found: number }>;
  /** The audit trail is kept for CONNECTION_EVENTS_RETENTION_DAYS (0: for ever). */
  private readonly purgeEvents = new PeriodicPurge('old connection events', PURGE_EVENTS_EVERY_MS, (now) => this.deleteEventsBefore(new Date(now - this.connection.eventRetentionDays * DAY_MS)));

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    @InjectRepository(Connection) private readonly connections: Repository<Connection>,
    @InjectRepository(ConnectionEvent) private readonly events: Repository<ConnectionEvent>,
    private readonly encryption: DataEncryption,
    @Inject(connectionConfig.KEY) private readonly connection: ConfigType<typeof connectionConfig>,
    private readonly sessionStatus: SessionConnectionStatus,
  ) {
    this.sql = deliverySql(dataSource.options.type === 'postgres');
    this.connectedByMydexid = new PreparedQuery(dataSource, 'SELECT 1 AS "found" FROM "connections" WHERE "mydexid_lower" = $1 LIMIT 1');
  }

  onModuleInit(): void {
    // GET /v1/session answers `connected` through this lookup (the Session module cannot import us).
    this.sessionStatus.use((member) => (member.mydexid ? this.isConnected(member.mydexid) : Promise.resolve(false)));
  }

  /** Whether the member with this MydexID (in any letter case) has a connection. */
  async isConnected(mydexid: string): Promise<boolean> {
    return (await this.connectedByMydexid.first([mydexid.toLowerCase()])) !== undefined;
  }

  /** Stores one authenticated, validated delivery. */
  async record(delivery: CallbackDelivery, context: DeliveryContext): Promise<void> {
    const now = new Date();
    const event = this.eventStatement(delivery, context, now);
    if (delivery.kind === 'notification') {
      await writeAtomically(this.dataSource, [event]);
      this.logger.log(`notification recorded for connection ${delivery.connectionId ?? '(none)'} (request ${context.requestId})`);
    } else {
      const upsert = this.upsertStatement(delivery, context, now);
      await writeAtomically(this.dataSource, [upsert, event]);
      this.logger.log(`connection ${delivery.connectionId} stored from ${context.method} (request ${context.requestId})`);
    }
    // After the delivery is stored; beside the answer, never in it (PeriodicPurge).
    if (this.connection.eventRetentionDays > 0) this.purgeEvents.maybeRun();
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

  /** The member's connection, found by MydexID (unique whatever the letter case). */
  async findByMydexid(mydexid: string): Promise<ConnectionView | null> {
    const row = await this.connections.findOne({ where: { mydexidLower: mydexid.toLowerCase() }, order: { updatedAt: 'DESC' } });
    return row ? toView(row) : null;
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

  private upsertStatement(delivery: ConnectionDelivery, context: DeliveryContext, now: Date): Statement {
    const sealed = this.encryption.seal(delivery.key, sealContext(delivery.connectionId));
    const at = this.timestamp(now);
    return [
      this.sql.upsert,
      [
        delivery.connectionId,
        delivery.uid,
        delivery.mydexid,
        delivery.mydexid.toLowerCase(),
        sealed.keyId,
        sealed.iv,
        sealed.tag,
        sealed.ciphertext,
        scrub(JSON.stringify(delivery.fields), delivery.key),
        JSON.stringify(normalisePermissions(delivery.fields)),
        // The callback does not document a version [I]: without one, the agreement we configured is the one approved.
        delivery.version ?? this.connection.version,
        delivery.linkingToken,
        context.method,
        at,
        at,
      ],
    ];
  }

  private eventStatement(delivery: CallbackDelivery, context: DeliveryContext, now: Date): Statement {
    const payload = JSON.stringify(delivery.record);
    return [
      this.sql.event,
      [
        delivery.kind,
        context.method,
        delivery.connectionId,
        delivery.uid,
        context.contentType,
        context.requestId.slice(0, 128),
        delivery.kind === 'connection' ? scrub(payload, delivery.key) : payload,
        this.timestamp(now),
      ],
    ];
  }

  /** As TypeORM writes a Date column: UTC text on SQLite, a Date for the pg driver. */
  private timestamp(date: Date): Date | string {
    return this.dataSource.options.type === 'postgres' ? date : date.toISOString().replace('T', ' ').replace('Z', '');
  }
}

/** Removes the member key wherever it might appear inside other stored text (defence in depth). */
function scrub(json: string, key: string): string {
  const needle = JSON.stringify(key).slice(1, -1);
  return needle.length >= 8 ? json.split(needle).join('[redacted]') : json;
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
