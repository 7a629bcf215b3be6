import { Inject, Injectable } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import { InjectRepository } from '@nestjs/typeorm';
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync } from 'node:crypto';
import { pooledRandomBytes } from '../../common/crypto/random-pool.js';
import { LessThan, LessThanOrEqual, QueryFailedError, type Repository } from 'typeorm';
import type { FieldProblem } from '../../common/problem/problem.exception.js';
import { ProblemException } from '../../common/problem/problem.exception.js';
import type { ErrorCode } from '../../common/problem/error-codes.js';
import { securityConfig } from '../../config/security.config.js';
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
  | { kind: 'problem'; code: ErrorCode; detail: string; errors?: FieldProblem[]; extensions?: Record<string, unknown>; headers?: Record<string, string> };

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
 * SHA-256, the body as an HMAC keyed from the Idempotency-Key (mixed with DATA_ENCRYPTION_KEY when set)
 * and the answer AES-256-GCM-encrypted under another key derived the same way. Without the
 * Idempotency-Key, which only the client has, a row reads as noise.
 */
@Injectable()
export class IdempotencyStore {
  private readonly purge = new PeriodicPurge('expired idempotency records', PURGE_EVERY_MS, (now) => this.keys.delete({ expiresAt: LessThan(new Date(now)) }));

  constructor(
    @InjectRepository(IdempotencyKey) private readonly keys: Repository<IdempotencyKey>,
    @Inject(securityConfig.KEY) private readonly security: ConfigType<typeof securityConfig>,
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
    const requestHash = createHmac('sha256', secrets.macKey).update(canonicalJson(request)).digest('hex');
    this.purge.maybeRun();
    const claimed = await this.claim(secrets.keyHash, scope, requestHash, leaseMs);
    if (!claimed.ours) return { value: this.replay<T>(claimed.row, requestHash, secrets.encKey), replayed: true };

    let value: T;
    try {
      value = await work();
    } catch (error) {
      if (error instanceof ProblemException && error.status < 500) {
        await this.complete(secrets.keyHash, secrets.encKey, {
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
    await this.complete(secrets.keyHash, secrets.encKey, { kind: 'value', value });
    return { value, replayed: false };
  }

  private async claim(keyHash: string, scope: string, requestHash: string, leaseMs: number): Promise<{ ours: true } | { ours: false; row: IdempotencyKey }> {
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const now = new Date();
      try {
        await this.keys.insert({
          keyHash,
          scope,
          requestHash,
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
      if (!sameHex(row.requestHash, requestHash)) {
        throw new ProblemException('idempotency_key_reused', 'This Idempotency-Key was already used with a different request; send a new key.');
      }
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

  private replay<T>(row: IdempotencyKey, requestHash: string, encKey: Buffer): T {
    if (!sameHex(row.requestHash, requestHash)) {
      throw new ProblemException('idempotency_key_reused', 'This Idempotency-Key was already used with a different request; send a new key.');
    }
    if (row.state !== 'completed' || row.response === null) {
      throw new ProblemException('idempotency_in_progress', 'A request with this Idempotency-Key is still in progress; retry shortly.', {
        headers: { 'retry-after': '1' },
      });
    }
    const answer = JSON.parse(decrypt(row.response, encKey)) as StoredAnswer;
    if (answer.kind === 'value') return answer.value as T;
    throw new ProblemException(answer.code, answer.detail, {
      errors: answer.errors,
      extensions: answer.extensions,
      headers: { ...answer.headers, [REPLAY_HEADER]: 'true' },
    });
  }

  private async complete(keyHash: string, encKey: Buffer, answer: StoredAnswer): Promise<void> {
    await this.keys.update({ keyHash }, { state: 'completed', response: encrypt(JSON.stringify(answer), encKey), lockedUntil: new Date() });
  }

  private derive(scope: string, key: string) {
    const ikm = Buffer.from(key, 'utf8');
    // With DATA_ENCRYPTION_KEY set (always in production) a stolen table plus a guessed key is not enough.
    const salt = this.security.dataEncryptionKey ? Buffer.from(this.security.dataEncryptionKey, 'base64') : Buffer.from('mydex-bff idempotency v1');
    return {
      keyHash: createHash('sha256').update(`${scope}\u0000${key}`, 'utf8').digest('hex'),
      macKey: Buffer.from(hkdfSync('sha256', ikm, salt, `${scope} request`, 32)),
      encKey: Buffer.from(hkdfSync('sha256', ikm, salt, `${scope} response`, 32)),
    };
  }
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

function encrypt(plain: string, key: Buffer): string {
  const iv = pooledRandomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  const sealed = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), sealed]).toString('base64url');
}

function decrypt(stored: string, key: Buffer): string {
  const raw = Buffer.from(stored, 'base64url');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
  decipher.setAuthTag(raw.subarray(12, 28));
  return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
}

function isUniqueViolation(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = (error.driverError as { code?: unknown } | undefined)?.code;
  // PostgreSQL unique_violation; better-sqlite3 primary-key / unique constraint.
  return code === '23505' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE';
}
