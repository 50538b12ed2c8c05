import { createCommitClock } from '@pra-kit/shared';
import { ApiDatabase, EventRow } from '../database/api-database';

export interface StoredEvent {
  readonly id: number;
  readonly timestamp: string;
  readonly message: string;
}

interface PendingWrite {
  readonly ts: string;
  readonly message: string;
  readonly resolve: (event: StoredEvent) => void;
  readonly reject: (error: unknown) => void;
}

/** Most writes committed by one transaction; the rest wait for the next one. */
const MAX_BATCH = 1000;

/**
 * Events, written with group commit.
 *
 * `add()` queues the write and returns a promise; every write queued while the event loop was busy
 * is committed by one transaction on the next turn, and each promise resolves only after that
 * transaction committed with the configured `synchronous` (FULL by default: durable across power
 * loss). Many concurrent requests therefore share one fsync instead of paying one each, and no
 * request is ever answered before its row is durable. If the commit fails, every write in the batch
 * is rejected and none of them is stored (one transaction).
 *
 * Each transaction also records its commit time (microseconds, strictly increasing) while it holds
 * the write lock: continuous replication reads it to date the transaction exactly, so a
 * point-in-time restore to T keeps exactly the writes committed at or before T.
 */
export class EventRepository {
  private queue: PendingWrite[] = [];
  private flushScheduled = false;

  constructor(
    private readonly database: ApiDatabase,
    private readonly now: () => Date = () => new Date(),
    private readonly onCommit: (batchSize: number) => void = () => undefined,
    private readonly commitClock: () => number = createCommitClock(),
  ) {}

  add(message: string): Promise<StoredEvent> {
    return new Promise<StoredEvent>((resolve, reject) => {
      this.queue.push({ ts: this.now().toISOString(), message, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  count(): number {
    return this.database.count();
  }

  /** Newest first; with `before`, only events whose id is below it (to page back through history). */
  latest(limit: number, before = Number.MAX_SAFE_INTEGER): StoredEvent[] {
    return this.database.use((c) => c.latestEvents.all(before, limit)).map(toEvent);
  }

  /** Resolves once everything queued so far has been committed or rejected. */
  async drain(): Promise<void> {
    while (this.queue.length > 0 || this.flushScheduled) {
      await new Promise((r) => setImmediate(r));
    }
  }

  private flush(): void {
    this.flushScheduled = false;
    const batch = this.queue.splice(0, MAX_BATCH);
    if (this.queue.length > 0) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    if (batch.length === 0) return;

    let ids: number[];
    try {
      ids = this.database.use((c) =>
        c.db
          .transaction(() => {
            const rowIds = batch.map((w) => Number(c.insertEvent.run(w.ts, w.message).lastInsertRowid));
            c.stampCommit.run(this.commitClock());
            return rowIds;
          })
          .immediate(),
      );
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    this.onCommit(batch.length);
    batch.forEach((w, i) => w.resolve({ id: ids[i], timestamp: w.ts, message: w.message }));
  }
}

function toEvent(row: EventRow): StoredEvent {
  return { id: row.id, timestamp: row.ts, message: row.message };
}
