import fs from 'node:fs';

/** Captures everything written to stdout/stderr: pino (sonic-boom writes fd 1 with fs.write/fs.writeSync) and console. */
export function captureOutput(): { lines: string[]; restore(): void } {
  const lines: string[] = [];
  const original = { write: fs.write, writeSync: fs.writeSync, stdout: process.stdout.write, stderr: process.stderr.write };
  const text = (data: unknown) =>
    typeof data === 'string'
      ? data
      : Buffer.isBuffer(data) || data instanceof Uint8Array
        ? Buffer.from(data).toString('utf8')
        : String(data);
  const bytes = (data: unknown) => (typeof data === 'string' ? Buffer.byteLength(data) : (data as Uint8Array).byteLength);
  const mutableFs = fs as unknown as Record<string, unknown>;
  mutableFs.writeSync = (fd: number, data: unknown, ...rest: unknown[]) => {
    if (fd !== 1 && fd !== 2) return (original.writeSync as (...args: unknown[]) => number)(fd, data, ...rest);
    lines.push(text(data));
    return bytes(data);
  };
  mutableFs.write = (fd: number, data: unknown, ...rest: unknown[]) => {
    if (fd !== 1 && fd !== 2) return (original.write as (...args: unknown[]) => void)(fd, data, ...rest);
    lines.push(text(data));
    const callback = rest.at(-1) as (error: null, written: number) => void;
    process.nextTick(() => callback(null, bytes(data)));
  };
  const streamWrite = (chunk: unknown, ...rest: unknown[]) => {
    lines.push(text(chunk));
    const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
    callback?.();
    return true;
  };
  process.stdout.write = streamWrite as typeof process.stdout.write;
  process.stderr.write = streamWrite as typeof process.stderr.write;
  return {
    lines,
    restore() {
      mutableFs.write = original.write;
      mutableFs.writeSync = original.writeSync;
      process.stdout.write = original.stdout;
      process.stderr.write = original.stderr;
    },
  };
}
