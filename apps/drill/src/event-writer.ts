import { http } from './http';

export interface Ack {
  readonly message: string;
  readonly id: number;
  readonly sentAt: number;
  readonly ackAt: number;
}

/**
 * Adds events at a fixed rate and records every acknowledged one. Each message is unique to the
 * run (`drill-<run>-<n>`), so after recovery the drill can tell exactly which acknowledged writes
 * survived. Requests are independent: a slow or failing one never delays the next tick.
 */
/** A write that was not acknowledged: refused by the API, failed on the network, or skipped. */
export interface Refusal {
  readonly sentAt: number;
  readonly reason: string;
}

export class FixedRateWriter {
  readonly acks: Ack[] = [];
  readonly failures = new Map<string, number>();
  /** Every write not acknowledged, with its time (the report's timeline draws them). */
  readonly refusals: Refusal[] = [];
  attempts = 0;
  private timer: NodeJS.Timeout | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly apiUrl: () => string,
    private readonly runId: string,
    private readonly ratePerSecond: number,
    private readonly maxInFlight = 64,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), Math.max(1, Math.round(1000 / this.ratePerSecond)));
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.inFlight]);
  }

  /** First acknowledged write sent at or after `t` (ms epoch). */
  firstAckSentAfter(t: number): Ack | undefined {
    return this.acks.filter((a) => a.sentAt >= t).sort((a, b) => a.ackAt - b.ackAt)[0];
  }

  private tick(): void {
    const sentAt = Date.now();
    if (this.inFlight.size >= this.maxInFlight) {
      this.count('skipped (too many in flight)', sentAt);
      return;
    }
    const message = `drill-${this.runId}-${++this.attempts}`;
    const p = http<{ id?: number; message?: string }>(`${this.apiUrl()}/add?message=${message}`, {
      timeoutMs: 5000,
    })
      .then((res) => {
        if (res.status === 200 && res.body.message === message && typeof res.body.id === 'number') {
          this.acks.push({ message, id: res.body.id, sentAt, ackAt: Date.now() });
        } else {
          this.count(String(res.status), sentAt);
        }
      })
      .catch((err: Error) => this.count(err.name === 'TimeoutError' ? 'timeout' : 'network', sentAt))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private count(reason: string, sentAt: number): void {
    this.failures.set(reason, (this.failures.get(reason) ?? 0) + 1);
    this.refusals.push({ sentAt, reason });
  }
}
