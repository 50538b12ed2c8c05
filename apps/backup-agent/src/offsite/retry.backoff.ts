import { BackupDomainError } from '../core/errors';

/** Delay before retry number `failures` (1, 2, ...): base, 2*base, 4*base... capped at max. */
export function retryDelayMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.min(Math.max(failures - 1, 0), 30));
}

/** Monotonic milliseconds: a wall clock set back or forward does not move a retry. */
export function monotonicMs(): number {
  return performance.now();
}

/**
 * The retry schedule of the offsite store: after each failure in a row, the next attempt waits
 * twice as long (baseMs, 2*baseMs, ... capped at maxMs); a success resets it.
 *
 * No library here: the ones on npm that back off (exponential-backoff, retry, p-retry, cockatiel)
 * run one operation in a loop and sleep in between; this one is a schedule the replicator reads,
 * because new backups keep arriving during the wait and stop() must not wait for a sleep.
 */
export class Backoff {
  private failures = 0;
  private retryAt = 0;

  constructor(
    private readonly baseMs: number,
    private readonly maxMs: number,
    private readonly now: () => number = monotonicMs,
  ) {}

  get consecutiveFailures(): number {
    return this.failures;
  }

  /** Counts a failure and returns the delay before the next attempt. */
  failed(): number {
    this.failures++;
    const delay = retryDelayMs(this.failures, this.baseMs, this.maxMs);
    this.retryAt = this.now() + delay;
    return delay;
  }

  /** Resets the schedule; returns how many failures in a row this success ends. */
  succeeded(): number {
    const ended = this.failures;
    this.failures = 0;
    this.retryAt = 0;
    return ended;
  }

  /** True while the next attempt is not due yet. */
  get waiting(): boolean {
    return this.now() < this.retryAt;
  }

  /** When the next attempt is due (monotonic ms), or null when there is no failure to retry. */
  get nextAttemptAt(): number | null {
    return this.failures > 0 ? this.retryAt : null;
  }
}

/** What a failed attempt left, for /ready, /health and the journal: its code, its message, when. */
export function failureOf(err: unknown, at: Date): { code: string; message: string; at: Date } {
  return {
    code: (err as BackupDomainError)?.code ?? 'OFFSITE_ERROR',
    message: (err as Error)?.message ?? String(err),
    at,
  };
}
