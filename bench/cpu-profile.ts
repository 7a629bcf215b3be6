/**
 * Loaded into the BFF with `node --import` when the benchmark runs with BENCH_CPU_PROF=<dir>: samples
 * the CPU from start to SIGTERM and writes `<dir>/bff-<label>-<pid>.cpuprofile` (open it in Chrome's
 * DevTools, Performance tab, or in VS Code). `node --cpu-prof` would not do: the BFF ends by
 * re-raising SIGTERM after its shutdown hooks, and Node writes --cpu-prof files only on a normal exit.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session, type Profiler } from 'node:inspector';
import { join } from 'node:path';

const dir = process.env.BENCH_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  session.post('Profiler.setSamplingInterval', { interval: 250 });
  session.post('Profiler.start');
  let written = false;
  process.prependListener('SIGTERM', () => {
    if (written) return;
    written = true;
    session.post('Profiler.stop', (error, result: Profiler.StopReturnType) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, `bff-${process.env.BENCH_CPU_PROFILE_LABEL ?? 'run'}-${process.pid}.cpuprofile`),
        JSON.stringify(result.profile),
      );
    });
  });
}
