import { ThrottlerStorageService, type ThrottlerStorage } from '@nestjs/throttler';
import type { Redis } from 'ioredis';
import { RedisThrottlerStorage } from './redis-throttler.storage.js';

/** A fixed-window counter: the window starts at the first hit and lasts `windowMs`. */
export interface WindowCount {
  count: number;
  /** Milliseconds until the window ends (0 when there is no window). */
  ttlMs: number;
}

/**
 * Counters beside the per-request throttler: the registration conflict budget per IP and the global
 * registration budget. In Redis when REDIS_URL is set (shared by every instance), else in this process.
 */
export interface CounterStore {
  /** The current count, without counting. */
  peek(key: string): Promise<WindowCount>;
  /** Counts one; starts the window at the first hit. */
  add(key: string, windowMs: number): Promise<WindowCount>;
}

const MAX_MEMORY_KEYS = 100_000;

export class MemoryCounterStore implements CounterStore {
  private readonly counters = new Map<string, { count: number; expiresAt: number }>();

  async peek(key: string): Promise<WindowCount> {
    const now = Date.now();
    const entry = this.counters.get(key);
    if (!entry || entry.expiresAt <= now) return { count: 0, ttlMs: 0 };
    return { count: entry.count, ttlMs: entry.expiresAt - now };
  }

  async add(key: string, windowMs: number): Promise<WindowCount> {
    const now = Date.now();
    let entry = this.counters.get(key);
    if (!entry || entry.expiresAt <= now) {
      if (this.counters.size >= MAX_MEMORY_KEYS) this.sweep(now);
      entry = { count: 0, expiresAt: now + windowMs };
      this.counters.set(key, entry);
    }
    entry.count += 1;
    return { count: entry.count, ttlMs: entry.expiresAt - now };
  }

  /** Expired windows go first; if every window is live the oldest half goes (an attacker with many addresses cannot grow memory without bound). */
  private sweep(now: number): void {
    for (const [key, entry] of this.counters) if (entry.expiresAt <= now) this.counters.delete(key);
    if (this.counters.size < MAX_MEMORY_KEYS) return;
    let drop = Math.floor(this.counters.size / 2);
    for (const key of this.counters.keys()) {
      if (drop-- <= 0) break;
      this.counters.delete(key);
    }
  }
}

// INCR, and start the window on the first hit; one round trip, atomic.
const ADD = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return {count, redis.call('PTTL', KEYS[1])}
`;

export class RedisCounterStore implements CounterStore {
  constructor(private readonly redis: Redis) {
    redis.defineCommand('bffCounterAdd', { numberOfKeys: 1, lua: ADD });
  }

  async peek(key: string): Promise<WindowCount> {
    const result = await this.redis.multi().get(this.name(key)).pttl(this.name(key)).exec();
    const count = Number(result?.[0]?.[1] ?? 0) || 0;
    const ttlMs = Number(result?.[1]?.[1] ?? 0);
    return { count, ttlMs: Math.max(0, ttlMs) };
  }

  async add(key: string, windowMs: number): Promise<WindowCount> {
    const command = (this.redis as unknown as Record<string, (...args: unknown[]) => Promise<[number, number]>>).bffCounterAdd;
    const [count, ttlMs] = await command.call(this.redis, this.name(key), windowMs);
    return { count, ttlMs: Math.max(0, ttlMs) };
  }

  private name(key: string): string {
    return `bff:rc:${key}`;
  }
}

/** The stores the limits use: Redis-backed when REDIS_URL is set, in-memory otherwise. */
export class RateLimitStores {
  readonly throttler: ThrottlerStorage;
  readonly counters: CounterStore;

  constructor(private readonly redis: Redis | undefined) {
    this.throttler = redis ? new RedisThrottlerStorage(redis) : new ThrottlerStorageService();
    this.counters = redis ? new RedisCounterStore(redis) : new MemoryCounterStore();
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
    (this.throttler as Partial<ThrottlerStorageService>).onApplicationShutdown?.();
  }
}
