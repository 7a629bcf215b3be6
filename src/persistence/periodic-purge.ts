import { Logger } from '@nestjs/common';

const logger = new Logger('PeriodicPurge');

/**
 * Deletes old rows at most once per interval, started from the request path that adds rows: no timer
 * to start or stop, and with several instances each one purges now and then (the deletes are
 * idempotent, so overlapping runs are harmless). The purge runs beside the request, never in it: a
 * slow or failing delete neither delays nor fails the request that started it (a failure is logged).
 */
export class PeriodicPurge {
  private lastRun = 0;
  /** A purge of a large backlog paces itself and may outlast the interval: never two at once. */
  private running = false;

  constructor(
    /** What is purged, for the log: "expired sessions". */
    private readonly what: string,
    private readonly everyMs: number,
    private readonly purge: (now: number) => Promise<unknown>,
  ) {}

  /** Starts the purge when the interval has passed since the last start; otherwise does nothing. */
  maybeRun(): void {
    const now = Date.now();
    if (this.running || now - this.lastRun < this.everyMs) return;
    this.lastRun = now;
    this.running = true;
    this.purge(now)
      .catch((error: unknown) => {
        logger.warn(`purging ${this.what} failed: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => {
        this.running = false;
      });
  }
}
