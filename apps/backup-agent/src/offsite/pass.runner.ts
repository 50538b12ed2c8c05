import { monotonicMs } from './retry.backoff';

/**
 * Runs a pass one at a time, in the background:
 * - `trigger()` starts it now, or once more right after the one in progress (any number of
 *   triggers during a pass make one more pass, not one each);
 * - after each pass, `nextRunAt()` says when the next one is due (monotonic ms; null: only when
 *   triggered) and a timer starts it then. The timer does not keep a one-shot process alive.
 */
export class PassRunner {
  private current: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private stopped = true;

  constructor(
    private readonly pass: () => Promise<void>,
    private readonly hooks: {
      /** Called when a pass ended, before the next one is started or scheduled. */
      readonly settled: () => void;
      readonly nextRunAt: () => number | null;
    },
  ) {}

  get running(): boolean {
    return this.current !== null;
  }

  start(): void {
    this.stopped = false;
    this.trigger();
  }

  /** Stops starting passes; returns the one in progress, if any, for the caller to wait for. */
  stop(): Promise<void> | null {
    this.stopped = true;
    this.clearTimer();
    return this.current;
  }

  trigger(): void {
    if (this.stopped) return;
    if (this.current) {
      this.again = true;
      return;
    }
    this.clearTimer();
    this.current = this.pass().finally(() => {
      this.current = null;
      this.hooks.settled();
      if (this.again) {
        this.again = false;
        this.trigger();
      } else {
        this.schedule();
      }
    });
  }

  private schedule(): void {
    const at = this.stopped ? null : this.hooks.nextRunAt();
    if (at === null) return;
    this.timer = setTimeout(() => this.trigger(), Math.max(0, at - monotonicMs()));
    this.timer.unref();
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
