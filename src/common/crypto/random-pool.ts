import { randomBytes, randomFillSync } from 'node:crypto';

const BLOCK_BYTES = 4096;
const block = Buffer.alloc(BLOCK_BYTES);
let offset = BLOCK_BYTES;

/**
 * Fresh random bytes from the CSPRNG for small, frequent needs (a 12-byte GCM IV per encryption),
 * fetched a block at a time: each `randomBytes()` call enters OpenSSL's DRBG, which costs about 5 µs on
 * the benchmark machine, more than the encryption. Every byte is handed out once, as a copy, so no two
 * callers ever share bytes; node's own `randomUUID()` pools the same way.
 */
export function pooledRandomBytes(size: number): Buffer {
  if (size > BLOCK_BYTES / 8) return randomBytes(size);
  if (offset + size > BLOCK_BYTES) {
    randomFillSync(block);
    offset = 0;
  }
  const bytes = Buffer.from(block.subarray(offset, offset + size));
  offset += size;
  return bytes;
}
