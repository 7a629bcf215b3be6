import { validateSync } from 'class-validator';
import { ProblemException } from '../common/problem/problem.exception.js';
import type { FieldProblem } from '../common/problem/problem.exception.js';
import { fieldProblems } from '../common/problem/validation-exception.factory.js';
import { isJsonObject, VALIDATOR_OPTIONS } from '../validation/registration-rules.js';
import { MalformedForm } from './callback-form.js';
import { CONNECTION_ID_PATTERN, ConnectionCallbackDto, toPositiveInt, UID_MAX, VERSION_MAX } from './connection-callback.dto.js';

/** A First Time Connection (POST) or an update (PUT), validated. */
export interface ConnectionDelivery {
  kind: 'connection';
  uid: number;
  mydexid: string;
  /** The member key: only ever passed to DataEncryption. */
  key: string;
  connectionId: string;
  fields: Record<string, unknown>;
  linkingToken: string | null;
  version: number | null;
  /** The delivery without the key, for connection_events. */
  record: Record<string, unknown>;
}

/** A PDX notification (`type: "notification"`), recorded as received. */
export interface NotificationDelivery {
  kind: 'notification';
  uid: number | null;
  connectionId: string | null;
  record: Record<string, unknown>;
}

export type CallbackDelivery = ConnectionDelivery | NotificationDelivery;

/** Limits on any part of a delivery (the body is already at most 1 MiB). */
const BODY_LIMITS = { depth: 12, nodes: 50_000 } as const;

const CONNECTION_FIELDS = ['uid', 'mydexid', 'key', 'connection_id', 'fields', 'linking_token', 'version'] as const;

/**
 * Reads a callback body (parsed form or JSON) into a delivery, or throws the problem to answer:
 * 400 `malformed_form` / `body_not_object`, 422 `validation_failed` with every field error.
 * `connectionNid` is ours: a connection_id for another connection is refused.
 */
export function readCallbackDelivery(body: unknown, connectionNid: string): CallbackDelivery {
  if (body instanceof MalformedForm) throw new ProblemException('malformed_form', body.reason);
  if (!isJsonObject(body)) {
    throw new ProblemException('body_not_object', 'Send the callback as a form or a JSON object.');
  }
  const source = body;
  const tooComplex = structureProblems(source);
  if (tooComplex.length > 0) throw validationFailed(tooComplex);

  if (source.type === 'notification') {
    const connectionId = typeof source.connection_id === 'string' && CONNECTION_ID_PATTERN.test(source.connection_id) ? source.connection_id : null;
    return { kind: 'notification', uid: toPositiveInt(source.uid, UID_MAX) ?? null, connectionId, record: withoutKey(source) };
  }

  const dto = new ConnectionCallbackDto();
  for (const name of CONNECTION_FIELDS) {
    if (Object.hasOwn(source, name)) (dto as unknown as Record<string, unknown>)[name] = name === 'mydexid' && typeof source[name] === 'string' ? source[name].trim() : source[name];
  }
  // Neither the object nor the values go into validation errors: the key must not travel further.
  const errors = fieldProblems(validateSync(dto, VALIDATOR_OPTIONS));
  const uid = toPositiveInt(dto.uid, UID_MAX);
  const expected = uid === undefined ? undefined : `${uid}-${connectionNid}`;
  if (expected !== undefined && typeof dto.connection_id === 'string' && CONNECTION_ID_PATTERN.test(dto.connection_id) && dto.connection_id !== expected) {
    errors.push({ field: 'connection_id', code: 'connection_id_mismatch', message: 'connection_id must be {uid}-{our Connection NID}.' });
  }
  if (errors.length > 0) throw validationFailed(errors);
  return {
    kind: 'connection',
    uid: uid!,
    mydexid: dto.mydexid,
    key: dto.key,
    connectionId: dto.connection_id,
    fields: dto.fields ?? {},
    linkingToken: dto.linking_token ?? null,
    version: dto.version === undefined ? null : (toPositiveInt(dto.version, VERSION_MAX) ?? null),
    record: withoutKey(source),
  };
}

function validationFailed(errors: FieldProblem[]): ProblemException {
  return new ProblemException('validation_failed', `${errors.length} field error(s); see errors.`, { errors });
}

/** A shallow copy without the member key: what connection_events stores. */
function withoutKey(source: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(source)) {
    if (name !== 'key') Object.defineProperty(copy, name, { value, enumerable: true, writable: true, configurable: true });
  }
  return copy;
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
        problems.push({ field: field.slice(0, 100), code: 'too_complex', message: `Nested deeper than ${BODY_LIMITS.depth} levels or with more than ${BODY_LIMITS.nodes} entries.` });
        return problems;
      }
      for (const child of Object.values(node as Record<string, unknown>)) stack.push({ node: child, depth: depth + 1 });
    }
  }
  return problems;
}
