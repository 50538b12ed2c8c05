export interface TimelineEntry {
  /** Milliseconds since the drill started. */
  readonly t_ms: number;
  readonly at: string;
  readonly step: string;
  readonly detail?: string;
}

/** The drill's steps with their times, printed live (what step, elapsed) and kept for the report. */
export class Timeline {
  readonly entries: TimelineEntry[] = [];
  readonly startedAt = Date.now();

  constructor(private readonly print: (line: string) => void = (l) => process.stderr.write(`${l}\n`)) {}

  mark(step: string, detail?: string): number {
    const now = Date.now();
    this.entries.push({
      t_ms: now - this.startedAt,
      at: new Date(now).toISOString(),
      step,
      ...(detail ? { detail } : {}),
    });
    this.print(`[${this.elapsed(now)}] ${step}${detail ? `: ${detail}` : ''}`);
    return now;
  }

  /** A progress line that is not a step (e.g. still waiting). */
  progress(message: string): void {
    this.print(`[${this.elapsed(Date.now())}]   ... ${message}`);
  }

  private elapsed(now: number): string {
    return `+${((now - this.startedAt) / 1000).toFixed(1).padStart(5)}s`;
  }
}
