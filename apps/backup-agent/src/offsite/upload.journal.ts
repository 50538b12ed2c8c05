import { compareBackupIds, parseBackupId } from '@pra-kit/shared';
import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Clock, Logger } from '../core/ports';
import { writeFileDurable } from '../infra/durable-fs';

/** A backup waiting for its offsite copy. */
export interface PendingUpload {
  readonly id: string;
  /** The backup's created_at: the upload lag is measured from it. */
  readonly createdAt: string;
  readonly queuedAt: string;
  attempts: number;
  lastError: string | null;
  lastAttemptAt: string | null;
  /** Monotonic ms before which it is not tried again (after a problem of its own). Not journaled. */
  notBefore: number;
}

interface JournalFile {
  readonly format: 1;
  readonly pending: Omit<PendingUpload, 'notBefore'>[];
}

/**
 * The upload queue, journaled in BACKUP_DIR/.offsite/queue.json so that a pending upload survives a
 * restart or a `kill -9`, and what a CronJob run could not upload is uploaded by the next one.
 *
 * Every change resolves once the queue is on disk (written durably: temp file, fsync, rename).
 * Writes are serialized, each of the state at the time of its call. A write that fails (a full
 * volume) is logged, not thrown: the journal only remembers attempts and errors, the catch-up
 * recomputes the queue from the local and offsite lists, and uploads must go on meanwhile.
 */
export class UploadJournal {
  private readonly entries = new Map<string, PendingUpload>();
  private writes: Promise<void> = Promise.resolve();

  constructor(
    private readonly file: string,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): PendingUpload | undefined {
    return this.entries.get(id);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  /** The newest backup that is due at `nowMs` (the freshest restore point matters most). */
  nextDue(nowMs: number): PendingUpload | undefined {
    return [...this.entries.values()]
      .filter((e) => e.notBefore <= nowMs)
      .sort((a, b) => compareBackupIds(b.id, a.id))[0];
  }

  /** When the first held backup is due again (monotonic ms); null when the queue is empty. */
  earliestDue(): number | null {
    return this.entries.size === 0 ? null : Math.min(...[...this.entries.values()].map((e) => e.notBefore));
  }

  /** created_at of the oldest pending backup (the upload lag is measured from it). */
  oldestCreatedAt(): Date | null {
    const oldest = [...this.entries.values()].reduce<string | null>(
      (min, e) => (min === null || e.createdAt < min ? e.createdAt : min),
      null,
    );
    return oldest ? new Date(oldest) : null;
  }

  /** Reads what an earlier run left. Missing or unreadable: an empty queue (the catch-up rebuilds it). */
  async load(): Promise<void> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch {
      return; // no journal yet
    }
    try {
      const journal = JSON.parse(text) as JournalFile;
      for (const e of journal.pending ?? []) {
        if (parseBackupId(e.id)?.id !== e.id || Number.isNaN(Date.parse(e.createdAt))) continue;
        this.entries.set(e.id, { ...e, attempts: Number(e.attempts) || 0, notBefore: 0 });
      }
      if (this.entries.size > 0)
        this.logger.log(`offsite: ${this.entries.size} upload(s) pending from the journal`);
    } catch (err) {
      this.logger.warn(
        `ignoring the unreadable offsite journal ${this.file} (${(err as Error).message}); the queue is recomputed`,
      );
    }
  }

  /** Queues backups that are not queued yet and removes others; journals the queue when it changed. */
  async change(change: {
    readonly add?: readonly { readonly id: string; readonly createdAt: string }[];
    readonly remove?: readonly string[];
  }): Promise<void> {
    let changed = false;
    for (const id of change.remove ?? []) changed = this.entries.delete(id) || changed;
    const queuedAt = this.clock.now().toISOString();
    for (const { id, createdAt } of change.add ?? []) {
      if (this.entries.has(id)) continue;
      this.entries.set(id, {
        id,
        createdAt,
        queuedAt,
        attempts: 0,
        lastError: null,
        lastAttemptAt: null,
        notBefore: 0,
      });
      changed = true;
    }
    if (changed) await this.save();
  }

  /** Journals the queue as it is now (after an attempt or an error was recorded on an entry). */
  save(): Promise<void> {
    const journal: JournalFile = {
      format: 1,
      pending: [...this.entries.values()].map(({ notBefore: _notBefore, ...rest }) => rest),
    };
    this.writes = this.writes
      .then(async () => {
        await mkdir(dirname(this.file), { recursive: true });
        await writeFileDurable(this.file, `${JSON.stringify(journal, null, 2)}\n`);
      })
      .catch((err) =>
        this.logger.warn(`could not write the offsite journal ${this.file}: ${(err as Error).message}`),
      );
    return this.writes;
  }

  /** Resolves when every write asked for so far is done. */
  flush(): Promise<void> {
    return this.writes;
  }
}
