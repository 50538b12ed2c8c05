import { mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Clock, Logger, SegmentUploadStatus } from '../core/ports';
import { SnapshotInChain } from '../core/replication.port';
import { writeFileDurable } from '../infra/durable-fs';
import { ChainId, ChainManifest, ChainStore } from '../replication/chain.store';
import { pruneChains } from '../replication/chain.retention';
import { PassRunner } from './pass.runner';
import { Backoff, failureOf, monotonicMs } from './retry.backoff';
import { seconds } from './upload.pass';

/** How often offsite retention runs on the chains (it follows the snapshots', which change hourly). */
const PRUNE_EVERY_MS = 10 * 60_000;

export interface SegmentUploaderOptions {
  /** S3_SYNC_INTERVAL: a pass every this often (what the bucket's RPO is made of). */
  readonly intervalMs: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** BACKUP_DIR/.offsite/segments.json */
  readonly journalFile: string;
}

interface Journal {
  readonly format: 1;
  /** Per chain: the last segment known to be in the bucket, and its last commit time. */
  readonly chains: Record<string, { seq: number; lastTimeUs: number; ended: boolean }>;
}

/**
 * Copies the replication chains to the bucket, in the background, so that a point-in-time restore
 * still works when both volumes are lost. Every S3_SYNC_INTERVAL a pass uploads, chain by chain and
 * in order, the segments the bucket does not have yet, then the chain's `chain.json` once it ended.
 *
 * - Idempotent: a segment already in the bucket (same sha256) is skipped; the bucket's listing is
 *   the truth, read at start and after every failure; the journal (BACKUP_DIR/.offsite/
 *   segments.json, written durably after each pass) saves listing it at every pass.
 * - In order: segment n goes only after n-1 is in the bucket, so the offsite range grows without a
 *   hole. A segment removed locally before it could be uploaded (retention, a very long outage)
 *   leaves one, which a restore names (and `--allow-gap` can stop at).
 * - A failure of the store stops the pass and backs off (the same schedule as the backups' uploads);
 *   local replication and the API never wait for it.
 * - Offsite retention: whole chains, following the snapshots offsite retention keeps.
 */
export class SegmentUploader {
  private readonly backoff: Backoff;
  private readonly runner: PassRunner;
  private journal: Journal = { format: 1, chains: {} };
  private checked = false;
  private stopped = true;
  private healthy: boolean | null = null;
  private lastError: { code: string; message: string; at: Date } | null = null;
  private readonly counters = { segments: 0, bytes: 0, failures: 0, pruned: 0 };
  private backlog = { segments: 0, bytes: 0, oldestUs: null as number | null };
  private lastPassAt = 0;
  private lastPruneAt: number | null = null;
  /** Chains whose chain.json this process has put (a new chain's goes before its first segment). */
  private readonly announced = new Set<string>();

  constructor(
    private readonly local: ChainStore,
    readonly remote: ChainStore,
    /** The snapshots whose segments offsite retention keeps (the bucket's, and the volume's). */
    private readonly offsiteSnapshots: () => Promise<SnapshotInChain[]>,
    private readonly options: SegmentUploaderOptions,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.backoff = new Backoff(options.retryBaseMs, options.retryMaxMs);
    this.runner = new PassRunner(() => this.runPass(), {
      settled: () => undefined,
      nextRunAt: () => this.backoff.nextAttemptAt ?? this.lastPassAt + this.options.intervalMs,
    });
  }

  async start(): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    await this.loadJournal();
    this.runner.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.runner.stop();
  }

  status(): SegmentUploadStatus {
    const now = this.clock.now().getTime();
    return {
      location: this.remote.location,
      healthy: this.healthy,
      lastError: this.lastError,
      pendingSegments: this.backlog.segments,
      backlogBytes: this.backlog.bytes,
      lagSeconds:
        this.backlog.oldestUs === null ? 0 : Math.max(0, (now * 1000 - this.backlog.oldestUs) / 1e6),
      segmentsUploaded: this.counters.segments,
      bytesUploaded: this.counters.bytes,
      failuresTotal: this.counters.failures,
      chainsPruned: this.counters.pruned,
    };
  }

  private async runPass(): Promise<void> {
    if (this.backoff.waiting) return;
    this.lastPassAt = monotonicMs();
    try {
      await this.pass();
      const failures = this.backoff.succeeded();
      if (failures > 0)
        this.logger.log(
          `offsite segments: ${this.remote.location} works again after ${failures} failed attempt(s)`,
        );
      this.healthy = true;
      this.lastError = null;
    } catch (err) {
      this.counters.failures++;
      this.healthy = false;
      this.checked = false; // list the bucket again before trusting the journal
      const delay = this.backoff.failed();
      this.lastError = failureOf(err, this.clock.now());
      const message = this.lastError.message;
      const text =
        `offsite segments to ${this.remote.location} failed: ${message}. Local replication is not affected; ` +
        `${this.backlog.segments} segment(s) waiting; retry ${this.backoff.consecutiveFailures} in ${seconds(delay)}`;
      if (this.backoff.consecutiveFailures === 1) this.logger.error(text);
      else this.logger.warn(text);
    }
  }

  private async pass(): Promise<void> {
    const chains = await this.local.listChains();
    // The backlog first, from the volume and the journal alone: it stays true while the bucket is down.
    this.backlog = await this.measureBacklog(chains);
    if (!this.checked) {
      await this.catchUp(chains);
      this.backlog = await this.measureBacklog(chains);
    }
    for (const chain of chains) {
      const done = this.journal.chains[chain.id] ?? { seq: 0, lastTimeUs: chain.start.time_us, ended: false };
      if (done.seq === 0 && !done.ended && !this.announced.has(chain.id)) {
        await this.remote.putChain({ ...chain, end: undefined } as ChainManifest);
        this.announced.add(chain.id);
      }
      for (const s of (await this.local.listSegments(chain.id)).filter((x) => x.seq > done.seq)) {
        const bytes = await this.local.readSegment(chain.id, s.seq).catch(() => null);
        if (!bytes) continue; // removed locally meanwhile (retention): a hole offsite, named by a restore
        await this.remote.putSegment(chain.id, s.seq, bytes);
        const summary = await this.local.segmentSummary(chain.id, s.seq);
        this.journal.chains[chain.id] = {
          ...(this.journal.chains[chain.id] ?? done),
          seq: s.seq,
          lastTimeUs: summary.last_time_us,
        };
        this.counters.segments++;
        this.counters.bytes += bytes.length;
        this.backlog = {
          segments: this.backlog.segments - 1,
          bytes: this.backlog.bytes - s.size,
          // The next pending segment's first commit is at most this one's last.
          oldestUs: this.backlog.segments > 1 ? summary.last_time_us : null,
        };
      }
      if (chain.end && !(this.journal.chains[chain.id]?.ended ?? false)) {
        await this.remote.putChain(chain);
        const entry = this.journal.chains[chain.id] ?? {
          seq: 0,
          lastTimeUs: chain.start.time_us,
          ended: false,
        };
        this.journal.chains[chain.id] = { ...entry, ended: true };
      }
    }
    this.backlog = { segments: 0, bytes: 0, oldestUs: null };
    // Retention lists the bucket's backups and chains: at start, then every PRUNE_EVERY_MS.
    if (this.lastPruneAt === null || monotonicMs() - this.lastPruneAt >= PRUNE_EVERY_MS) {
      await this.prune(chains);
      this.lastPruneAt = monotonicMs();
    }
    await this.saveJournal(chains);
  }

  /** What the bucket does not have yet, per the journal: segments, bytes, the oldest commit among them. */
  private async measureBacklog(chains: readonly ChainManifest[]): Promise<SegmentUploader['backlog']> {
    const backlog = { segments: 0, bytes: 0, oldestUs: null as number | null };
    for (const chain of chains) {
      const doneSeq = this.journal.chains[chain.id]?.seq ?? 0;
      const pending = (await this.local.listSegments(chain.id)).filter((x) => x.seq > doneSeq);
      if (pending.length === 0) continue;
      backlog.segments += pending.length;
      backlog.bytes += pending.reduce((n, x) => n + x.size, 0);
      const first = await this.local.segmentSummary(chain.id, pending[0].seq).catch(() => null);
      if (first && (backlog.oldestUs === null || first.first_time_us < backlog.oldestUs))
        backlog.oldestUs = first.first_time_us;
    }
    return backlog;
  }

  /** The bucket is the truth: what each chain has there (after a start or a failure). */
  private async catchUp(chains: readonly ChainManifest[]): Promise<void> {
    const remote = new Map((await this.remote.listChains()).map((c) => [c.id, c]));
    for (const chain of chains) {
      const there = remote.get(chain.id);
      if (!there) {
        delete this.journal.chains[chain.id];
        continue;
      }
      const segments = await this.remote.listSegments(chain.id);
      const last = segments[segments.length - 1];
      this.journal.chains[chain.id] = {
        seq: last?.seq ?? 0,
        lastTimeUs: last
          ? (await this.remote.segmentSummary(chain.id, last.seq)).last_time_us
          : chain.start.time_us,
        ended: there.end !== undefined,
      };
    }
    this.checked = true;
  }

  /** Offsite retention: whole chains, after the snapshots the bucket keeps (no time window there). */
  private async prune(localChains: readonly ChainManifest[]): Promise<void> {
    const live = localChains.filter((c) => !c.end).pop()?.id ?? null;
    const pruned = await pruneChains(this.remote, await this.offsiteSnapshots(), {
      now: this.clock.now(),
      windowMs: Number.MAX_SAFE_INTEGER / 2,
      liveChain: live,
    });
    if (pruned.chains.length > 0 || pruned.segments > 0) {
      this.counters.pruned += pruned.chains.length;
      for (const id of pruned.chains) delete this.journal.chains[id];
      this.logger.log(
        `offsite retention removed ${pruned.segments} segment(s) from ${this.remote.location}` +
          (pruned.chains.length ? `, chain(s) ${pruned.chains.join(', ')}` : ''),
      );
    }
  }

  private async loadJournal(): Promise<void> {
    try {
      const parsed = JSON.parse(await readFile(this.options.journalFile, 'utf8')) as Journal;
      if (parsed?.format === 1 && parsed.chains && typeof parsed.chains === 'object') {
        const chains: Journal['chains'] = {};
        for (const [id, e] of Object.entries(parsed.chains)) {
          if (ChainId.isValid(id) && Number.isSafeInteger(e?.seq)) chains[id] = e;
        }
        this.journal = { format: 1, chains };
      }
    } catch {
      // no journal yet, or unreadable: the first pass lists the bucket
    }
  }

  /** Forgets chains gone locally and offsite; written durably (a crash loses no acknowledged upload). */
  private async saveJournal(chains: readonly ChainManifest[]): Promise<void> {
    const keep = new Set(chains.map((c) => c.id));
    for (const id of Object.keys(this.journal.chains)) if (!keep.has(id)) delete this.journal.chains[id];
    try {
      await mkdir(dirname(this.options.journalFile), { recursive: true });
      await writeFileDurable(this.options.journalFile, `${JSON.stringify(this.journal, null, 2)}\n`);
    } catch (err) {
      this.logger.warn(`could not write ${this.options.journalFile}: ${(err as Error).message}`);
    }
  }
}
