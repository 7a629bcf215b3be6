import { describe, expect, it } from 'vitest';
import { pooledRandomBytes } from './random-pool.js';

describe('pooledRandomBytes', () => {
  it('hands out the requested size, as copies that later refills do not change', () => {
    const first = pooledRandomBytes(12);
    const kept = Buffer.from(first);
    for (let i = 0; i < 2000; i++) pooledRandomBytes(12); // several refills of the block
    expect(first).toHaveLength(12);
    expect(first.equals(kept)).toBe(true);
    expect(pooledRandomBytes(1000)).toHaveLength(1000);
  });

  it('never repeats a 12-byte value across many block refills', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 50_000; i++) seen.add(pooledRandomBytes(12).toString('hex'));
    expect(seen.size).toBe(50_000);
  });

  it('gives bytes that look uniform (no byte value more than 3x as common as another)', () => {
    const counts = new Array<number>(256).fill(0);
    for (let i = 0; i < 20_000; i++) for (const byte of pooledRandomBytes(12)) counts[byte]!++;
    expect(Math.max(...counts) / Math.min(...counts)).toBeLessThan(3);
  });
});
