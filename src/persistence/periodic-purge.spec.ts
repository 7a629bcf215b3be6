import { describe, expect, it } from 'vitest';
import { PeriodicPurge } from './periodic-purge.js';

describe('PeriodicPurge', () => {
  it('never starts a purge while the previous one still runs, even when the interval has passed', async () => {
    let calls = 0;
    let finish: () => void = () => undefined;
    const purge = new PeriodicPurge('test rows', 0, () => {
      calls++;
      return new Promise<void>((resolve) => {
        finish = resolve;
      });
    });
    purge.maybeRun();
    purge.maybeRun();
    expect(calls).toBe(1);
    finish();
    await new Promise((resolve) => setImmediate(resolve));
    purge.maybeRun();
    expect(calls).toBe(2);
  });

  it('starts at most once per interval', () => {
    let calls = 0;
    const purge = new PeriodicPurge('test rows', 60_000, () => {
      calls++;
      return Promise.resolve();
    });
    purge.maybeRun();
    purge.maybeRun();
    expect(calls).toBe(1);
  });
});
