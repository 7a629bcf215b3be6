/**
 * The V8 heap settings the BFF runs with: the Dockerfile (NODE_OPTIONS), `npm start` and the
 * benchmark all use these, and test/runtime-settings.e2e-spec.ts checks they agree.
 *
 * Without them, V8 on a machine with plenty of memory sizes its heap for throughput: it lets the old
 * generation grow to up to four times the live heap before collecting it, so a BFF with ~45 MiB of
 * live objects sat at 200–290 MiB resident under load. A 256 MiB old-generation limit makes V8 grow
 * the heap by at most 1.3× between collections (its setting for small heaps), and 8 MiB semi-spaces
 * halve the young generation; the live heap stays far below the limit (docs/benchmark.md).
 */
export const HEAP_NODE_OPTIONS = '--max-old-space-size=256 --max-semi-space-size=8';
