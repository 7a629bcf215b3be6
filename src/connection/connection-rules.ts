import type { ReadRow } from '../persistence/sql-table.js';
import type { ConnectionDelivery } from './callback-delivery.js';
import type { Connection } from './connection.entity.js';

/**
 * The rules that decide a callback delivery, without I/O: ConnectionsService (the callback) and the
 * operator command (`npm run connections`) apply them to the rows ConnectionRepository reads.
 */

/** How a delivery arrived. */
export interface DeliveryContext {
  method: 'POST' | 'PUT';
  contentType: 'form' | 'json';
  requestId: string;
}

/** Why an authenticated delivery was stored but not applied. */
export type QuarantineReason =
  /** The delivery's MydexID (or connection_id) is bound to another uid. */
  | 'uid_changed'
  /** The delivery's uid is bound to another MydexID. */
  | 'mydexid_changed'
  /** The delivery repeats one the member's connection has since moved past (a replay rolling it back). */
  | 'replayed'
  /** The delivery names an older agreement version than the connection has. */
  | 'older_version'
  /** No usable MydexID, or neither a uid nor a connection_id: nothing to apply it to. */
  | 'unidentified';

/**
 * What an applied delivery changed, as the domain event and the webhook report it:
 * `connection.established` for a member who had no connection, else `connection.updated` with the
 * member's connection_id before when the connection moved to another one (null when it stayed).
 * Ids, the method and the version only: never the key or fields.
 */
export type ConnectionChange =
  | { name: 'connection.established'; facts: ConnectionChangeFacts }
  | { name: 'connection.updated'; facts: ConnectionChangeFacts & { previousConnectionId: string | null } };

export type ConnectionChangeFacts = {
  connectionId: string;
  uid: number;
  method: 'POST' | 'PUT';
  version: number;
};

/** What became of a delivery. An applied one says what it changed (and whether the member's connection moved). */
export type DeliveryOutcome =
  | { status: 'applied'; moved: boolean; change: ConnectionChange }
  | { status: 'duplicate' }
  | { status: 'quarantined'; reason: QuarantineReason };

/** How many applied deliveries per connection are remembered for replay detection. */
export const FINGERPRINT_HISTORY = 32;

/** A delivery that names a member (uid, MydexID and connection_id): one that can be applied. */
export type IdentifiedDelivery = ConnectionDelivery & { uid: number; mydexid: string; connectionId: string };

export function isIdentified(delivery: ConnectionDelivery): delivery is IdentifiedDelivery {
  return delivery.uid !== null && delivery.mydexid !== null && delivery.connectionId !== null;
}

/** The agreement version a delivery approves. The callback does not document a version [I]: without one, the agreement we configured. */
export function approvedVersion(delivery: ConnectionDelivery, configuredVersion: number): number {
  return delivery.version ?? configuredVersion;
}

/** What of a connection row decides a delivery (ConnectionRepository.bindings reads it). */
export const BINDING_KEYS = ['connectionId', 'uid', 'mydexidLower', 'version', 'fingerprints', 'supersededAt'] as const;
export type BindingRow = ReadRow<Pick<Connection, (typeof BINDING_KEYS)[number]>>;

export type Decision =
  | { action: 'apply'; moveFrom: string | null; previous: string | null; history: string[] }
  | { action: 'duplicate' }
  | { action: 'quarantine'; reason: QuarantineReason };

/**
 * The rules (docs/connections.md "Which deliveries are applied"):
 * 1. A MydexID is bound to one uid and a uid to one MydexID (the live rows), and a connection_id to
 *    the member it was first stored for: a delivery that would change any of these is quarantined.
 * 2. A delivery equal to the one the connection reflects is a retry: nothing changes.
 * 3. A delivery equal to an earlier one the connection has moved past is a replay: quarantined.
 * 4. A delivery naming an older agreement version than the connection's is quarantined; otherwise
 *    the later-received delivery wins [I] (Mydex documents no ordering, timestamp or nonce).
 */
export function decide(
  rows: BindingRow[],
  d: { uid: number; mydexidLower: string; connectionId: string; fingerprint: string; version: number },
): Decision {
  const live = rows.filter((row) => row.supersededAt === null);
  const own = rows.find((row) => row.connectionId === d.connectionId);
  if (own && Number(own.uid) !== d.uid) return { action: 'quarantine', reason: 'uid_changed' };
  if (own && own.mydexidLower !== d.mydexidLower) return { action: 'quarantine', reason: 'mydexid_changed' };
  if (live.some((row) => row.mydexidLower === d.mydexidLower && Number(row.uid) !== d.uid))
    return { action: 'quarantine', reason: 'uid_changed' };
  if (live.some((row) => Number(row.uid) === d.uid && row.mydexidLower !== d.mydexidLower))
    return { action: 'quarantine', reason: 'mydexid_changed' };
  // Every row left belongs to this member: its live row (if any) and this connection_id's row.
  const member = live.find((row) => row.mydexidLower === d.mydexidLower) ?? null;
  const current = member ?? own ?? null;
  const history = [...new Set([...(own?.fingerprints?.split(',') ?? []), ...(member?.fingerprints?.split(',') ?? [])].filter(Boolean))];
  if (current?.fingerprints) {
    const latest = current.fingerprints.split(',').pop();
    if (latest === d.fingerprint) return { action: 'duplicate' };
  }
  if (history.includes(d.fingerprint)) return { action: 'quarantine', reason: 'replayed' };
  if (current && d.version < Number(current.version)) return { action: 'quarantine', reason: 'older_version' };
  const moveFrom = member && member.connectionId !== d.connectionId ? member.connectionId : null;
  return { action: 'apply', moveFrom, previous: member?.connectionId ?? null, history };
}

/** The fingerprints a row keeps once `fingerprint` is applied: it last, the oldest dropped past FINGERPRINT_HISTORY. */
export function withFingerprint(history: string[], fingerprint: string): string {
  return [...history.filter((known) => known !== fingerprint), fingerprint].slice(-FINGERPRINT_HISTORY).join(',');
}

/** `previous`: the member's live connection_id before this delivery (null: none, a new connection). */
export function changeOf(facts: ConnectionChangeFacts, previous: string | null): ConnectionChange {
  if (previous === null) return { name: 'connection.established', facts };
  return { name: 'connection.updated', facts: { ...facts, previousConnectionId: previous === facts.connectionId ? null : previous } };
}

/** A unique-index conflict on either engine. */
export function isUniqueViolation(error: unknown): boolean {
  const { code, driverError } = error as { code?: unknown; driverError?: { code?: unknown } };
  const value = code ?? driverError?.code;
  return value === '23505' || value === 'SQLITE_CONSTRAINT_UNIQUE' || value === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
