import { validateSync } from 'class-validator';
import { createHash } from 'node:crypto';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { FieldProblem } from '../common/problem/problem.exception.js';
import { isJsonObject } from '../common/problem/problem-validation.pipe.js';
import { fieldProblems, validationFailed } from '../common/problem/validation-exception.factory.js';
import { VALIDATOR_OPTIONS } from '../validation/registration-rules.js';
import { MalformedForm } from './callback-form.js';
import { CONNECTION_ID_PATTERN, ConnectionCallbackDto, toPositiveInt, UID_MAX, VERSION_MAX } from './connection-callback.dto.js';
import { fieldsProblem, normalisePermissions, type NormalisedPermissions } from './permissions.js';

/**
 * Format surprises in an authenticated delivery. Mydex's word is applied anyway (our rules are not
 * Mydex's, and Mydex's own examples break them [S]); each is counted, logged at warn and kept with
 * the event. Codes only: never a value.
 */
export type Anomaly =
  /** `uid` absent: taken from connection_id's first part [I] (Mydex's older example, `587-99` without uid). */
  | 'uid_missing'
  /** `uid` not a positive integer (kept in the body; taken from connection_id when it has one). */
  | 'uid_invalid'
  /** connection_id absent or unusable (not printable ASCII up to 80): `{uid}-{our NID}` is used. */
  | 'connection_id_missing'
  /** connection_id is not `{number}-{number}`. */
  | 'connection_id_format'
  /** connection_id's first part is not the uid (Mydex's example `connection_id=123-3736&uid=1`). */
  | 'connection_id_uid_mismatch'
  /** connection_id's second part is not our Connection NID. */
  | 'connection_id_nid_mismatch'
  /** The MydexID fails our registration rules (e.g. `alice.smith`; Mydex may hold older MydexIDs). */
  | 'mydexid_rules'
  /** The key is not printable ASCII of at most 1,024 characters (we do not know Mydex's format [I]). */
  | 'key_format'
  /** `fields` is not the structure we understand: stored as received, no permission derived from it. */
  | 'fields_invalid'
  /** linking_token not printable ASCII up to 255: kept in the body only. */
  | 'linking_token_invalid'
  /** version not a positive integer: the configured version is used. */
  | 'version_invalid';

/** A First Time Connection (POST) or an update (PUT) with a key: applied, or quarantined. */
export interface ConnectionDelivery {
  kind: 'connection';
  /** Null when neither `uid` nor connection_id gives one: the delivery cannot be applied (quarantined). */
  uid: number | null;
  /** Trimmed; null when absent or unusable (not 1 to 60 characters without control characters). */
  mydexid: string | null;
  /** The member key: only ever passed to DataEncryption. */
  key: string;
  /** As Mydex sent it when usable, else `{uid}-{our NID}`; null when there is no uid either. */
  connectionId: string | null;
  /** `fields` as received (any JSON value), for the sealed permissions_raw. */
  fields: unknown;
  permissions: NormalisedPermissions;
  linkingToken: string | null;
  version: number | null;
  anomalies: Anomaly[];
  /** The body as received (with the key): sealed into connection_events. */
  body: Record<string, unknown>;
}

/** A PDX notification (`type: "notification"`): stored and shown to the member, applies nothing. */
export interface NotificationDelivery {
  kind: 'notification';
  uid: number | null;
  connectionId: string | null;
  body: Record<string, unknown>;
}

/** A body that cannot be parsed, or has no key: answered with `problem`, the body kept sealed for the operator. */
export interface RefusedDelivery {
  kind: 'refused';
  reason: 'malformed_form' | 'body_not_object' | 'too_complex' | 'key_missing';
  problem: ProblemException;
  /** The parsed body when there is one (else the raw bytes are kept). */
  body: Record<string, unknown> | null;
}

export type CallbackDelivery = ConnectionDelivery | NotificationDelivery | RefusedDelivery;

/** Limits on any part of a delivery (the body is already at most 1 MiB), so no later step runs out of stack. */
const BODY_LIMITS = { depth: 12, nodes: 50_000 } as const;

const CONNECTION_FIELDS = ['uid', 'mydexid', 'key', 'connection_id', 'fields', 'linking_token', 'version'] as const;

/** A connection_id we can store and use as a key: printable ASCII, at most the column's 80. */
const USABLE_CONNECTION_ID = /^[\x21-\x7e]{1,80}$/;
/** A MydexID we can store and find a member by: 1 to 60 characters, no control characters. */
// eslint-disable-next-line no-control-regex -- the control characters are what it excludes
const USABLE_MYDEXID = /^[^\x00-\x1f\x7f]{1,60}$/;

/** DTO validation failures → anomalies (a delivery is never refused for these). */
const ANOMALY_BY_FIELD: Record<string, Anomaly> = {
  uid: 'uid_invalid',
  mydexid: 'mydexid_rules',
  key: 'key_format',
  connection_id: 'connection_id_format',
  fields: 'fields_invalid',
  linking_token: 'linking_token_invalid',
  version: 'version_invalid',
};

/**
 * Reads an authenticated callback body (parsed form or JSON). Only a body that cannot be read at
 * all (malformed form, not an object, nested beyond BODY_LIMITS) or that carries no key is refused;
 * every other delivery is a connection (possibly with anomalies) or a notification.
 * `connectionNid` is ours: a connection_id for another one is an anomaly.
 */
export function readCallbackDelivery(body: unknown, connectionNid: string): CallbackDelivery {
  if (body instanceof MalformedForm) return refused('malformed_form', new ProblemException('malformed_form', body.reason), null);
  if (!isJsonObject(body)) {
    return refused('body_not_object', new ProblemException('body_not_object', 'Send the callback as a form or a JSON object.'), null);
  }
  const source = body;
  const tooComplex = structureProblems(source);
  if (tooComplex.length > 0) return refused('too_complex', validationFailed(tooComplex), null);

  if (source.type === 'notification') {
    const connectionId =
      typeof source.connection_id === 'string' && USABLE_CONNECTION_ID.test(source.connection_id) ? source.connection_id : null;
    // Mydex's example sends uid as a string ("4020") [S].
    return { kind: 'notification', uid: toPositiveInt(source.uid, UID_MAX) ?? null, connectionId, body: source };
  }

  const key = source.key;
  if (typeof key !== 'string' || key.length === 0) {
    const problem = {
      field: 'key',
      code: key === undefined || key === '' ? 'required' : 'key_invalid',
      message: 'key is required: the Member Connection Key as one string.',
    };
    return refused('key_missing', validationFailed([problem]), source);
  }

  const dto = new ConnectionCallbackDto();
  for (const name of CONNECTION_FIELDS) {
    if (Object.hasOwn(source, name))
      (dto as unknown as Record<string, unknown>)[name] =
        name === 'mydexid' && typeof source[name] === 'string' ? source[name].trim() : source[name];
  }
  // Neither the object nor the values go into validation errors: the key must not travel further.
  const anomalies = new Set<Anomaly>();
  for (const problem of fieldProblems(validateSync(dto, VALIDATOR_OPTIONS))) {
    const anomaly = ANOMALY_BY_FIELD[problem.field];
    if (
      anomaly &&
      !(problem.field === 'uid' && dto.uid === undefined) &&
      !(problem.field === 'connection_id' && problem.code === 'required')
    )
      anomalies.add(anomaly);
  }

  const givenId = typeof dto.connection_id === 'string' && USABLE_CONNECTION_ID.test(dto.connection_id) ? dto.connection_id : null;
  const idParts = givenId !== null && CONNECTION_ID_PATTERN.test(givenId) ? givenId.split('-') : null;
  let uid = toPositiveInt(dto.uid, UID_MAX) ?? null;
  if (uid === null) {
    anomalies.add(dto.uid === undefined ? 'uid_missing' : 'uid_invalid');
    // Mydex documents connection_id as `{uid}-{nid}` [S]: without a usable uid, its first part is the uid [I].
    uid = idParts ? (toPositiveInt(idParts[0], UID_MAX) ?? null) : null;
  }
  let connectionId = givenId;
  if (connectionId === null) {
    anomalies.delete('connection_id_format');
    anomalies.add('connection_id_missing');
    connectionId = uid === null ? null : `${uid}-${connectionNid}`;
  } else if (idParts) {
    if (uid !== null && idParts[0] !== String(uid)) anomalies.add('connection_id_uid_mismatch');
    if (idParts[1] !== connectionNid) anomalies.add('connection_id_nid_mismatch');
  }

  const mydexid = typeof dto.mydexid === 'string' && USABLE_MYDEXID.test(dto.mydexid) ? dto.mydexid : null;
  const fields = Object.hasOwn(source, 'fields') ? source.fields : {};
  const fieldsOk = isJsonObject(fields) && fieldsProblem(fields) === undefined;
  const linkingToken = typeof dto.linking_token === 'string' && /^[\x21-\x7e]{1,255}$/.test(dto.linking_token) ? dto.linking_token : null;
  return {
    kind: 'connection',
    uid,
    mydexid,
    key,
    connectionId,
    fields,
    permissions: fieldsOk ? normalisePermissions(fields) : {},
    linkingToken,
    version: dto.version === undefined ? null : (toPositiveInt(dto.version, VERSION_MAX) ?? null),
    anomalies: [...anomalies].sort(),
    body: source,
  };
}

/**
 * What identifies a delivery's content for replay detection: SHA-256 over the parts that are
 * applied (uid, MydexID in lower case, key, connection_id, `fields` with keys sorted, linking token,
 * version), so reordering parameters or adding unknown ones does not make a replay look new. The key
 * is inside, so the hash does not let anyone confirm a guess of the `fields` values.
 */
export function deliveryFingerprint(delivery: ConnectionDelivery): string {
  const parts = [
    delivery.uid,
    delivery.mydexid?.toLowerCase() ?? null,
    delivery.key,
    delivery.connectionId,
    canonical(delivery.fields),
    delivery.linkingToken,
    delivery.version,
  ];
  return createHash('sha256').update('mydex-bff delivery\0').update(JSON.stringify(parts)).digest('hex').slice(0, 32);
}

/** A copy of the body without the member key: what an applied delivery's event keeps. */
export function withoutKey(source: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(source)) {
    if (name !== 'key') Object.defineProperty(copy, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
}

function refused(reason: RefusedDelivery['reason'], problem: ProblemException, body: Record<string, unknown> | null): RefusedDelivery {
  return { kind: 'refused', reason, problem, body };
}

/** JSON-ready copy with object keys sorted at every level (the body is bounded by BODY_LIMITS). */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value !== 'object' || value === null) return value;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return entries.map(([name, child]) => [name, canonical(child)]);
}

/**
 * Top-level members nested deeper or larger than BODY_LIMITS, found iteratively, so no later step
 * (validation, JSON.stringify for storage) can run out of stack on a hostile body.
 */
function structureProblems(source: Record<string, unknown>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  let nodes = 0;
  for (const [field, value] of Object.entries(source)) {
    const stack: { node: unknown; depth: number }[] = [{ node: value, depth: 1 }];
    while (stack.length > 0) {
      const { node, depth } = stack.pop()!;
      if (typeof node !== 'object' || node === null) {
        nodes += 1;
        continue;
      }
      nodes += 1;
      if (depth > BODY_LIMITS.depth || nodes > BODY_LIMITS.nodes) {
        problems.push({
          field: field.slice(0, 100),
          code: 'too_complex',
          message: `Nested deeper than ${BODY_LIMITS.depth} levels or with more than ${BODY_LIMITS.nodes} entries.`,
        });
        return problems;
      }
      for (const child of Object.values(node as Record<string, unknown>)) stack.push({ node: child, depth: depth + 1 });
    }
  }
  return problems;
}
