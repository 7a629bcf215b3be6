import { randomAlphanumeric, randomHex, randomToken } from './secrets.js';

/** A Mydex member. Secrets are kept only as scrypt hashes. */
export interface Member {
  uid: number;
  /** 64 lowercase hex characters, stable for the member: the OIDC `sub`. */
  sub: string;
  mydexid: string;
  email: string;
  passwordHash: string;
  privateKeyHash: string;
  registeredThrough: 'pdx_api' | 'laca';
  createdAt: Date;
}

/** What `state.members` shows: a member without any secret. */
export interface MemberView {
  uid: number;
  sub: string;
  mydexid: string;
  email: string;
  registeredThrough: 'pdx_api' | 'laca';
  createdAt: string;
}

/** A registration accepted by `POST /api/pds`, waiting for its Private Key form. */
export interface PendingRegistration {
  token: string;
  mydexid: string;
  email: string;
  passwordHash: string;
  returnTo: string;
  expiresAt: number;
}

export interface ShortAccessToken {
  value: string;
  nid: string;
  expiresAt: number;
}

/** A First Time Connection (or update) started through the PDX API, reached through its one-time DSSA URL. */
export interface ConnectionRequest {
  token: string;
  kind: 'first' | 'update';
  /** Absent when the subscriber did not know the MydexID: the member logs in or registers on the DSSA page. */
  mydexid?: string;
  nid: string;
  version: number;
  returnTo: string;
  linkingToken?: string;
  expiresAt: number;
}

export interface Connection {
  connectionId: string;
  uid: number;
  mydexid: string;
  nid: string;
  /** The Member Connection Key: sent to the subscriber in the callback, never shown in any printout. */
  key: string;
  version: number;
  linkingToken?: string;
  datasets: string[];
  approvedAt: Date;
}

export interface ConnectionView {
  connectionId: string;
  uid: number;
  mydexid: string;
  nid: string;
  version: number;
  linkingToken?: string;
  datasets: string[];
  approvedAt: string;
}

export interface DeliveryAttempt {
  at: string;
  /** The subscriber's HTTP status, when it answered. */
  status?: number;
  /** The first 500 characters of the subscriber's answer. */
  body?: string;
  /** Why no answer came (connection refused, timeout). */
  error?: string;
  durationMs: number;
}

/** One callback to the subscriber and every attempt to deliver it. */
export interface DeliveryRecord {
  id: number;
  method: 'POST' | 'PUT';
  url: string;
  connectionId: string;
  /** The form fields sent, parsed, with the member key replaced by "[redacted]". */
  payload: Record<string, unknown>;
  attempts: DeliveryAttempt[];
  /** True once the subscriber answered 2xx; false after the last failed retry; undefined while retrying. */
  delivered?: boolean;
}

export interface IdentitySession {
  id: string;
  sub: string;
  expiresAt: number;
}

const lower = (value: string) => value.toLowerCase();

/**
 * The emulator's whole state, in memory. One instance per running emulator, so tests that start
 * several never share members.
 */
export class EmulatorStore {
  private nextUid = 587; // Mydex's example uid [S]; sequential numbering is the emulator's own [I]
  private nextDeliveryId = 1;
  private readonly members = new Map<string, Member>();
  private readonly pending = new Map<string, PendingRegistration>();
  private readonly shortTokens = new Map<string, ShortAccessToken>();
  private readonly connectionRequests = new Map<string, ConnectionRequest>();
  private readonly connections = new Map<string, Connection>();
  private readonly sessions = new Map<string, IdentitySession>();
  readonly deliveries: DeliveryRecord[] = [];

  // Members ---------------------------------------------------------------------------------------

  memberByMydexid(mydexid: string): Member | undefined {
    const wanted = lower(mydexid);
    for (const member of this.members.values()) if (lower(member.mydexid) === wanted) return member;
    return undefined;
  }

  memberByEmail(email: string): Member | undefined {
    const wanted = lower(email);
    for (const member of this.members.values()) if (lower(member.email) === wanted) return member;
    return undefined;
  }

  memberBySub(sub: string): Member | undefined {
    return this.members.get(sub);
  }

  addMember(fields: Omit<Member, 'uid' | 'sub' | 'createdAt'>): Member {
    const member: Member = { ...fields, uid: this.nextUid++, sub: randomHex(32), createdAt: new Date() };
    this.members.set(member.sub, member);
    return member;
  }

  memberViews(): MemberView[] {
    return [...this.members.values()].map((m) => ({
      uid: m.uid,
      sub: m.sub,
      mydexid: m.mydexid,
      email: m.email,
      registeredThrough: m.registeredThrough,
      createdAt: m.createdAt.toISOString(),
    }));
  }

  // Short access tokens (GET /access-token/{nid}) ---------------------------------------------------

  issueShortToken(nid: string, ttlMs: number): ShortAccessToken {
    this.sweep();
    const token = { value: randomToken(24), nid, expiresAt: Date.now() + ttlMs };
    this.shortTokens.set(token.value, token);
    return token;
  }

  /** Removes and returns the token: every presentation uses it up, whatever happens next [I]. */
  takeShortToken(value: string): ShortAccessToken | undefined {
    const token = this.shortTokens.get(value);
    this.shortTokens.delete(value);
    return token && token.expiresAt > Date.now() ? token : undefined;
  }

  // Pending registrations (the Private Key form) ----------------------------------------------------

  addPending(fields: Omit<PendingRegistration, 'token' | 'expiresAt'>, ttlMs: number): PendingRegistration {
    const pending = { ...fields, token: randomToken(), expiresAt: Date.now() + ttlMs };
    this.pending.set(pending.token, pending);
    return pending;
  }

  pendingFor(token: string): PendingRegistration | undefined {
    const pending = this.pending.get(token);
    return pending && pending.expiresAt > Date.now() ? pending : undefined;
  }

  completePending(token: string): void {
    this.pending.delete(token);
  }

  // Connection requests and connections ----------------------------------------------------------

  addConnectionRequest(fields: Omit<ConnectionRequest, 'token' | 'expiresAt'>, ttlMs: number): ConnectionRequest {
    const request = { ...fields, token: randomToken(), expiresAt: Date.now() + ttlMs };
    this.connectionRequests.set(request.token, request);
    return request;
  }

  connectionRequestFor(token: string): ConnectionRequest | undefined {
    const request = this.connectionRequests.get(token);
    return request && request.expiresAt > Date.now() ? request : undefined;
  }

  completeConnectionRequest(token: string): void {
    this.connectionRequests.delete(token);
  }

  connection(uid: number, nid: string): Connection | undefined {
    return this.connections.get(`${uid}-${nid}`);
  }

  /**
   * Creates the connection (a new random key) or, for an update, keeps its key and raises the version.
   * The key's format (32 letters and digits) and keeping it on update are the emulator's own [I].
   */
  saveConnection(member: Member, request: ConnectionRequest, datasets: string[]): Connection {
    const connectionId = `${member.uid}-${request.nid}`;
    const existing = this.connections.get(connectionId);
    const connection: Connection = {
      connectionId,
      uid: member.uid,
      mydexid: member.mydexid,
      nid: request.nid,
      key: existing?.key ?? randomAlphanumeric(32),
      version: request.version,
      linkingToken: request.linkingToken ?? existing?.linkingToken,
      datasets,
      approvedAt: new Date(),
    };
    this.connections.set(connectionId, connection);
    return connection;
  }

  connectionKey(connectionId: string): string | undefined {
    return this.connections.get(connectionId)?.key;
  }

  connectionViews(): ConnectionView[] {
    return [...this.connections.values()].map((c) => ({
      connectionId: c.connectionId,
      uid: c.uid,
      mydexid: c.mydexid,
      nid: c.nid,
      version: c.version,
      ...(c.linkingToken === undefined ? {} : { linkingToken: c.linkingToken }),
      datasets: [...c.datasets],
      approvedAt: c.approvedAt.toISOString(),
    }));
  }

  // Deliveries ------------------------------------------------------------------------------------

  addDelivery(fields: Omit<DeliveryRecord, 'id' | 'attempts'>): DeliveryRecord {
    const record: DeliveryRecord = { ...fields, id: this.nextDeliveryId++, attempts: [] };
    this.deliveries.push(record);
    return record;
  }

  // Identity sessions (the member logged in at "Mydex": LaCa, Private Key form, DSSA) ---------------

  startSession(sub: string, ttlMs: number): IdentitySession {
    this.sweep();
    const session = { id: randomToken(), sub, expiresAt: Date.now() + ttlMs };
    this.sessions.set(session.id, session);
    return session;
  }

  sessionMember(id: string | undefined): Member | undefined {
    if (id === undefined) return undefined;
    const session = this.sessions.get(id);
    if (!session || session.expiresAt <= Date.now()) return undefined;
    return this.members.get(session.sub);
  }

  endSession(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  /** Drops expired one-time items so a long-running emulator does not grow without bound. */
  private sweep(): void {
    const now = Date.now();
    for (const map of [this.shortTokens, this.pending, this.connectionRequests, this.sessions] as Map<string, { expiresAt: number }>[]) {
      for (const [key, item] of map) if (item.expiresAt <= now) map.delete(key);
    }
  }
}
