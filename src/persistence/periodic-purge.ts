/**
 * Deletes old rows at most once per interval, from the request path that adds rows: no timer to
 * start or stop, and with several instances each one purges now and then (the deletes are
 * idempotent, so overlapping runs are harmless).
 */
export class PeriodicPurge {
  private lastRun = 0;

  constructor(
    private readonly everyMs: number,
    private readonly purge: (now: number) => Promise<unknown>,
  ) {}

  /** Runs the purge when the interval has passed since the last run; otherwise does nothing. */
  async maybeRun(): Promise<void> {
    const now = Date.now();
    if (now - this.lastRun < this.everyMs) return;
    this.lastRun = now;
    await this.purge(now);
  }
}
