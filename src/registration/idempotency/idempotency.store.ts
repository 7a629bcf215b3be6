import { Injectable, Logger } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { LessThan, LessThanOrEqual, QueryFailedError, type Repository } from 'typeorm';
import { DataEncryption } from '../../common/crypto/data-encryption.js';
import { DataKeyError, type KeyBinding } from '../../common/crypto/data-key-ring.js';
import { decodeSealed, sealText } from '../../common/crypto/sealed-text.js';
import type { FieldProblem } from '../../common/problem/problem.exception.js';
import { ProblemException } from '../../common/problem/problem.exception.js';
import type { ErrorCode } from '../../common/problem/error-codes.js';
import { PeriodicPurge } from '../../persistence/periodic-purge.js';
import { sameHex } from '../../session/session-token.js';
import { IdempotencyKey } from './idempotency-key.entity.js';

/** How long a key remembers its first answer. */
export const IDEMPOTENCY_WINDOW_MS = 24 * 60 * 60 * 1000;
/** Printable ASCII, 1 to 255 characters (a UUID v4 is what clients should send). */
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;
const PURGE_EVERY_MS = 60_000;
/** Answered with every replay, so a client can tell a replay from a first answer. */
export const REPLAY_HEADER = 'idempotent-replayed';

type StoredAnswer =
  | { kind: 'value'; value: unknown }
  | {
      kind: 'problem';
      code: ErrorCode;
      detail: string;
      errors?: FieldProblem[];
      extensions?: Record<string, unknown>;
      headers?: Record<string, string>;
    };

export interface IdempotentResult<T> {
  value: T;
  replayed: boolean;
}

/**
 * Idempotency-Key handling, shared by every instance through the database. The first request with a
 * key runs; a repeat within 24 hours with the same body gets the first answer back (success or a 4xx
 * problem) without running again; the same key with another body is refused; a repeat while the first
 * is still running is told so. A 5xx answer (Mydex unavailable, timeout) is not remembered, so a retry
 * with the same key runs again.
 *
 * Request bodies hold the member's password, so nothing stored can reveal one: the key is stored as a
 * SHA-256, the body as an HMAC and the answer sealed (AES-256-GCM, `gcm1.` text) under the data key
 * ring (DataEncryption), both with keys bound to the Idempotency-Key (KeyBinding): without the
 * Idempotency-Key, which only the client has, a row reads as noise even to whoever has the data keys.
 * The HMAC is checked under every key of the ring and the answer names its key id, so a retry after a
 * data-key rotation still replays while the old key is listed in DATA_ENCRYPTION_KEYS_OLD.
 */
@Injectable()
export class IdempotencyStore {
  private readonly logger = new Logger('IdempotencyStore');
  private readonly purge = new PeriodicPurge('expired idempotency records', PURGE_EVERY_MS, (now) =>
    this.keys.delete({ expiresAt: LessThan(new Date(now)) }),
  );

  constructor(
    @InjectRepository(IdempotencyKey) private readonly keys: Repository<IdempotencyKey>,
    private readonly encryption: DataEncryption,
  ) {}

  /** 400 `idempotency_key_invalid` unless the header is absent or well formed. */
  static checkKey(header: unknown): string | undefined {
    if (header === undefined) return undefined;
    if (typeof header !== 'string' || !KEY_FORMAT.test(header)) {
      throw new ProblemException('idempotency_key_invalid', 'Idempotency-Key must be 1 to 255 printable ASCII characters; send a UUID.');
    }
    return header;
  }

  /**
   * Runs `work` once per (scope, key, request). `leaseMs` bounds how long a first attempt may block its
   * repeats if this process dies mid-way.
   */
  async run<T>(scope: string, key: string, request: unknown, leaseMs: number, work: () => Promise<T>): Promise<IdempotentResult<T>> {
    const secrets = this.derive(scope, key);
    // Under every key of the ring, the current one first: that one is stored, any one matches.
    const requestHashes = this.encryption.macs(canonicalJson(request), secrets.request).map(({ mac }) => mac);
    this.purge.maybeRun();
    const claimed = await this.claim(secrets.keyHash, scope, requestHashes, leaseMs);
    if (!claimed.ours) return { value: this.replay<T>(claimed.row, requestHashes, secrets), replayed: true };

    let value: T;
    try {
      value = await work();
    } catch (error) {
      if (error instanceof ProblemException && error.status < 500) {
        await this.complete(secrets, {
          kind: 'problem',
          code: error.code,
          detail: error.detail,
          errors: error.options.errors,
          extensions: error.options.extensions,
          headers: error.options.headers,
        });
      } else {
        await this.keys.delete({ keyHash: secrets.keyHash, state: 'in_progress' });
      }
      throw error;
    }
    await this.complete(secrets, { kind: 'value', value });
    return { value, replayed: false };
  }

  private async claim(
    keyHash: string,
    scope: string,
    requestHashes: string[],
    leaseMs: number,
  ): Promise<{ ours: true } | { ours: false; row: IdempotencyKey }> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const now = new Date();
      try {
        await this.keys.insert({
          keyHash,
          scope,
          requestHash: requestHashes[0]!,
          state: 'in_progress',
          response: null,
          lockedUntil: new Date(now.getTime() + leaseMs),
          createdAt: now,
          expiresAt: new Date(now.getTime() + IDEMPOTENCY_WINDOW_MS),
        });
        return { ours: true };
      } catch (error) {
        if (!isUniqueViolation(error)) throw error;
      }
      const row = await this.keys.findOneBy({ keyHash });
      if (row === null) continue; // purged between the insert and the read: try again
      if (row.expiresAt.getTime() <= now.getTime()) {
        await this.keys.delete({ keyHash, expiresAt: LessThan(new Date(now.getTime() + 1)) });
        continue;
      }
      if (!matchesAny(row.requestHash, requestHashes)) throw keyReused();
      if (row.state === 'in_progress' && row.lockedUntil.getTime() <= now.getTime()) {
        // The first attempt's process died before finishing: take its place, once.
        const taken = await this.keys.update(
          { keyHash, state: 'in_progress', lockedUntil: LessThanOrEqual(now) },
          { lockedUntil: new Date(now.getTime() + leaseMs) },
        );
        if (taken.affected === 1) return { ours: true };
      }
      return { ours: false, row };
    }
    throw new ProblemException('idempotency_in_progress', 'A request with this Idempotency-Key is still in progress; retry shortly.', {
      headers: { 'retry-after': '1' },
    });
  }

  private replay<T>(row: IdempotencyKey, requestHashes: string[], secrets: Secrets): T {
    if (!matchesAny(row.requestHash, requestHashes)) throw keyReused();
    if (row.state !== 'completed' || row.response === null) {
      throw new ProblemException('idempotency_in_progress', 'A request with this Idempotency-Key is still in progress; retry shortly.', {
        headers: { 'retry-after': '1' },
      });
    }
    const answer = JSON.parse(this.openAnswer(row.response, secrets)) as StoredAnswer;
    if (answer.kind === 'value') return answer.value as T;
    throw new ProblemException(answer.code, answer.detail, {
      errors: answer.errors,
      extensions: answer.extensions,
      headers: { ...answer.headers, [REPLAY_HEADER]: 'true' },
    });
  }

  private async complete(secrets: Secrets, answer: StoredAnswer): Promise<void> {
    const response = sealText(this.encryption, JSON.stringify(answer), responseContext(secrets.keyHash), secrets.response);
    await this.keys.update({ keyHash: secrets.keyHash }, { state: 'completed', response, lockedUntil: new Date() });
  }

  /**
   * The stored answer's JSON. A `gcm1.` text names its key id; a bare base64url `iv|tag|ciphertext`
   * (rows written before the store used the shared ring, no additional data) is tried under each key.
   * An answer no key of the ring opens (its key was removed within the 24 hours) is not replayed: the
   * client is told to send a new key, as when the request no longer matches.
   */
  private openAnswer(stored: string, secrets: Secrets): string {
    try {
      const sealed = decodeSealed(stored);
      if (sealed) return this.encryption.open(sealed, responseContext(secrets.keyHash), secrets.response);
      const raw = Buffer.from(stored, 'base64url');
      const legacy = {
        iv: raw.subarray(0, 12).toString('base64'),
        tag: raw.subarray(12, 28).toString('base64'),
        ciphertext: raw.subarray(28).toString('base64'),
      };
      for (const keyId of this.encryption.keyIds) {
        try {
          return this.encryption.open({ keyId, ...legacy }, '', secrets.response);
        } catch (error) {
          if (!(error instanceof DataKeyError)) throw error;
        }
      }
      throw new DataKeyError('no key of the ring opens the stored answer');
    } catch (error) {
      if (!(error instanceof DataKeyError)) throw error;
      this.logger.warn(
        `a stored idempotent answer could not be opened (${error.message}); was a data key removed from DATA_ENCRYPTION_KEYS_OLD within 24 hours of a rotation?`,
      );
      throw keyReused();
    }
  }

  private derive(scope: string, key: string): Secrets {
    const secret = Buffer.from(key, 'utf8');
    return {
      keyHash: createHash('sha256').update(`${scope}\u0000${key}`, 'utf8').digest('hex'),
      // The labels are those of the first format, so rows stored before the shared ring still match.
      request: { secret, label: `${scope} request` },
      response: { secret, label: `${scope} response` },
    };
  }
}

interface Secrets {
  keyHash: string;
  request: KeyBinding;
  response: KeyBinding;
}

/** The sealed answer's additional data: it opens on its own row only. */
function responseContext(keyHash: string): string {
  return `idempotency_keys.response:${keyHash}`;
}

function matchesAny(stored: string, candidates: string[]): boolean {
  return candidates.some((candidate) => sameHex(stored, candidate));
}

function keyReused(): ProblemException {
  return new ProblemException('idempotency_key_reused', 'This Idempotency-Key was already used with a different request; send a new key.');
}

/** JSON with object keys sorted at every level, so the same request always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value as Record<string, unknown>)
      .sort()
      .filter((name) => (value as Record<string, unknown>)[name] !== undefined)
      .map((name) => `${JSON.stringify(name)}:${canonicalJson((value as Record<string, unknown>)[name])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: unknown } | undefined)?.code;
  // PostgreSQL unique_violation; better-sqlite3 primary-key / unique constraint.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
