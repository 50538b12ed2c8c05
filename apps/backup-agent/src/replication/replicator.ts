import { existsSync } from 'node:fs';
import { ChainPosition } from '@pra-kit/shared';
import { OperationInProgressError } from '../core/errors';
import { isNoSpaceError } from '../infra/sqlite-file';
import { Clock, Logger } from '../core/ports';
import { ReplicationStatus } from '../core/replication.port';
import { ChainId, ChainManifest } from './chain.store';
import { LocalChainStore } from './local-chain.store';
import { PageVersions, SegmentEncoder, SegmentFooter, WalPosition } from './segment.codec';
import { ChainBreak, TransactionSink, WalFollower } from './wal-follower';

/**
 * Takes a snapshot whose read transaction is opened by `anchor` (called with the function that
 * opens it, under the database's write lock). The backup agent implements it: a verified backup
 * like any other, which becomes the base of the chain.
 */
export type BaseSnapshotTaker = (anchor: (openReadTx: () => void) => ChainPosition) => Promise<unknown>;

export interface ReplicatorOptions {
  readonly dbPath: string;
  /** BACKUP_SYNC_INTERVAL: every committed transaction is on the backup volume within it. */
  readonly syncIntervalMs: number;
  /** WAL frames after which the replicator restarts the WAL (SQLite's autocheckpoint: 1000). */
  readonly restartAfterFrames?: number;
  /** Wait before trying again to start a chain after a failure. */
  readonly retryMs?: number;
  /** How long segment writes may keep failing before the chain is given up (default 30 s). */
  readonly maxFailingMs?: number;
  /** Asked to free room (space-aware retention) when the volume refuses a segment for lack of it. */
  readonly onNoSpace?: (bytes: number) => Promise<void>;
}

/** How long segment writes may fail before the chain is given up (the WAL must not grow forever). */
const MAX_FAILING_MS = 30_000;
/** Transactions held in memory waiting for a segment, at most (bytes of records). */
const MAX_PENDING_BYTES = 64 * 1024 * 1024;

/**
 * Continuous replication: follows the live database's WAL (WalFollower) and writes every committed
 * transaction to the chain store in segments, so each is durable on the backup volume within
 * BACKUP_SYNC_INTERVAL of its commit. Starts a chain from a fresh base snapshot, continues the last
 * chain after a restart when the WAL allows it, and ends a chain (saying why) when continuity is
 * lost, then starts a new one. It never stalls the API and never keeps the WAL growing: if it cannot
 * write (a full volume), it gives the chain up and lets go of the WAL.
 */
export class Replicator {
  private state: ReplicationStatus['state'] = 'off';
  private follower: WalFollower | null = null;
  private chain: ChainManifest | null = null;
  private encoder: SegmentEncoder | null = null;
  private nextTx = 1;
  /** Sequence number and sha256 of the last segment built (written or waiting to be). */
  private seq = 0;
  private lastSha: string | null = null;
  /** Segments built but not yet written (the volume refused them): retried first, in order. */
  private unwritten: BuiltSegment[] = [];
  private pendingSince: number | null = null;
  private oldestPendingUs: number | null = null;
  private durableTx = 0;
  private durableUntilUs: number | null = null;
  private failingSince: number | null = null;
  /** A chain this process ended but could not mark as ended (its chain.json was refused). */
  private unrecordedEnd: { chain: ChainManifest; lastTx: number; reason: string; at: Date } | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Every step runs through this chain, one at a time. */
  private work: Promise<void> = Promise.resolve();
  private retryAt = 0;
  private lastPollAt: Date | null = null;
  private readonly counters = { breaks: 0, segments: 0, bytes: 0, transactions: 0, walRestarts: 0 };
  private lastSegmentLagMs: number | null = null;
  private lastError: { message: string; at: Date } | null = null;
  private lastBreak: { reason: string; at: Date } | null = null;
  private readonly pollMs: number;
  private readonly flushAfterMs: number;

  constructor(
    private readonly options: ReplicatorOptions,
    private readonly store: LocalChainStore,
    private readonly takeBaseSnapshot: BaseSnapshotTaker,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    // Poll often enough that commits are seen soon after they happen, flush early enough that the
    // slowest one is durable within the sync interval (a poll, the write, and some margin).
    this.pollMs = Math.min(250, Math.max(20, Math.floor(options.syncIntervalMs / 10)));
    this.flushAfterMs = Math.max(0, options.syncIntervalMs - 2 * this.pollMs - 100);
  }

  /** Resumes the last chain when the WAL still allows it, or starts a new one; then follows. */
  start(): void {
    if (this.state !== 'off' && this.state !== 'paused') return;
    this.state = 'waiting';
    this.retryAt = 0;
    this.schedule(0);
  }

  /** Ships what is committed, then lets go of the WAL (the chain is continued at the next start). */
  stop(): Promise<void> {
    this.state = 'off';
    this.cancelTimer();
    return this.serial(async () => {
      await this.drain();
      this.closeFollower();
    });
  }

  /**
   * Ends the current chain (a restore is about to replace the database's content): ships what is
   * committed, marks the chain ended with `reason`, lets go of the WAL. resume() starts a new chain.
   */
  pause(reason: string): Promise<void> {
    const wasOn = this.state !== 'off';
    this.state = 'paused';
    this.cancelTimer();
    return this.serial(async () => {
      if (wasOn) await this.endChain(reason, false);
    });
  }

  resume(): void {
    if (this.state === 'paused') this.start();
  }

  /** Makes everything committed so far durable now (before a restore to "now"). */
  sync(): Promise<void> {
    return this.serial(async () => {
      if (this.state !== 'following') return;
      try {
        this.pollOnce();
        await this.flush();
      } catch (err) {
        if (err instanceof ChainBreak) await this.endChain(err.reason, true);
        else throw err;
      }
    });
  }

  /**
   * For a snapshot taken while following: opens its read transaction at an exact point of the
   * chain. null when not following (the snapshot is then a standalone restore point).
   */
  anchorSnapshot(openReadTx: () => void): ChainPosition | null {
    if (this.state !== 'following' || !this.follower || !this.chain || !this.encoder) return null;
    try {
      this.follower.anchor(openReadTx, this.sink());
    } catch (err) {
      if (err instanceof ChainBreak) return null; // the next poll ends the chain
      throw err;
    }
    return { id: this.chain.id, tx: this.nextTx - 1, time_us: this.clock.now().getTime() * 1000 };
  }

  status(): ReplicationStatus {
    return {
      state: this.state,
      chain: this.chain?.id ?? null,
      durableUntilUs: this.durableUntilUs,
      pendingTransactions: this.nextTx - 1 - this.durableTx,
      oldestPendingUs: this.oldestPendingUs,
      lastPollAt: this.lastPollAt,
      breaksTotal: this.counters.breaks,
      segmentsWritten: this.counters.segments,
      segmentBytesWritten: this.counters.bytes,
      transactionsShipped: this.counters.transactions,
      lastSegmentLagMs: this.lastSegmentLagMs,
      lastError: this.lastError,
      lastBreak: this.lastBreak,
      walRestarts: this.counters.walRestarts + (this.follower?.restarts ?? 0),
    };
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.work.then(fn);
    this.work = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private schedule(ms: number): void {
    if (this.state === 'off' || this.state === 'paused' || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.serial(() => this.tick()).finally(() => this.schedule(this.pollMs));
    }, ms);
    this.timer.unref();
  }

  private cancelTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private async tick(): Promise<void> {
    try {
      if (this.state === 'waiting') {
        if (Date.now() >= this.retryAt) await this.startChain();
        return;
      }
      if (this.state !== 'following') return;
      this.pollOnce();
      const due =
        this.unwritten.length > 0 ||
        (this.pendingSince !== null &&
          (Date.now() - this.pendingSince >= this.flushAfterMs ||
            (this.encoder?.size ?? 0) >= 8 * 1024 * 1024));
      if (due) await this.flush();
    } catch (err) {
      if (err instanceof ChainBreak) await this.endChain(err.reason, true);
      else this.recordError(err);
    }
  }

  /** Reads new commits into the encoder, and restarts the WAL when it has grown large. */
  private pollOnce(): void {
    const follower = this.follower as WalFollower;
    const sink = this.sink();
    follower.poll(sink);
    follower.restartIfLarge(sink);
    this.lastPollAt = this.clock.now();
  }

  /** Commits go to whatever encoder is current when they arrive. */
  private sink(): TransactionSink {
    return {
      frame: (pgno, page) => (this.encoder as SegmentEncoder).frame(pgno, page),
      commit: (timeUs, stamped, dbPages) => {
        if (this.pendingSince === null) {
          this.pendingSince = Date.now();
          this.oldestPendingUs = timeUs;
        }
        (this.encoder as SegmentEncoder).commit(this.nextTx++, timeUs, stamped, dbPages);
      },
    };
  }

  /**
   * Turns the pending transactions into the chain's next segment, then writes every segment not yet
   * written, in order. A segment the volume refuses stays queued (the transactions are not lost) and
   * is retried; when that lasts, the chain is given up (ChainBreak) so the WAL is not pinned forever.
   */
  private async flush(): Promise<void> {
    const chain = this.chain;
    if (!chain || !this.follower) return;
    if (this.encoder && this.encoder.txCount > 0) {
      const built = this.encoder.finish({
        chain: chain.id,
        seq: this.seq + 1,
        prevSha256: this.lastSha,
        walEnd: this.follower.position,
        writtenAt: this.clock.now(),
      });
      this.seq++;
      this.lastSha = built.sha256;
      this.unwritten.push(built);
      this.encoder = new SegmentEncoder(this.encoder.pageSize, this.encoder.versions);
      this.pendingSince = null;
    }
    while (this.unwritten.length > 0) {
      const segment = this.unwritten[0];
      try {
        try {
          await this.store.putSegment(chain.id, segment.footer.seq, segment.bytes);
        } catch (err) {
          if (!isNoSpaceError(err) || !this.options.onNoSpace) throw err;
          await this.options.onNoSpace(segment.bytes.length); // retention makes room, then once more
          await this.store.putSegment(chain.id, segment.footer.seq, segment.bytes);
        }
      } catch (err) {
        this.failingSince ??= Date.now();
        this.recordError(err, `could not write segment ${segment.footer.seq} of ${chain.id}`);
        const queued = this.unwritten.reduce((n, s) => n + s.bytes.length, 0);
        if (
          Date.now() - this.failingSince > (this.options.maxFailingMs ?? MAX_FAILING_MS) ||
          queued > MAX_PENDING_BYTES
        ) {
          throw new ChainBreak(
            `segments could not be written for ${Math.round((Date.now() - this.failingSince) / 1000)} s ` +
              `(${(err as Error).message}); the WAL is released so the API is not affected`,
          );
        }
        return;
      }
      this.unwritten.shift();
      this.written(segment);
    }
    this.failingSince = null;
  }

  private written({ footer, bytes }: BuiltSegment): void {
    this.lastSegmentLagMs = Math.round((Date.now() * 1000 - footer.first_time_us) / 1000);
    this.durableTx = footer.last_tx;
    this.durableUntilUs = footer.last_time_us;
    this.counters.segments++;
    this.counters.bytes += bytes.length;
    this.counters.transactions += footer.tx_count;
    this.lastError = null;
    if (this.unwritten.length === 0 && (this.encoder?.txCount ?? 0) === 0) this.oldestPendingUs = null;
  }

  /** Polls and flushes what is left (a stop or a pause); failures are logged, never thrown. */
  private async drain(): Promise<void> {
    if (!this.follower || !this.encoder) return;
    try {
      this.pollOnce();
    } catch (err) {
      if (!(err instanceof ChainBreak)) this.recordError(err);
    }
    try {
      await this.flush();
    } catch (err) {
      this.recordError(err);
    }
  }

  /** Continues the newest open chain if the WAL allows it; otherwise starts a new one. */
  private async startChain(): Promise<void> {
    if (!existsSync(this.options.dbPath)) return; // nothing to follow yet (data volume lost?)
    this.state = 'starting';
    try {
      if (!(await this.resumeLastChain())) await this.newChain();
      if (this.state === 'starting') this.state = 'following';
    } catch (err) {
      this.closeFollower();
      this.chain = null;
      if (this.state === 'starting') this.state = 'waiting';
      if (err instanceof OperationInProgressError) {
        this.retryAt = Date.now() + 200; // a backup or restore holds the lock: soon again, quietly
        return;
      }
      this.retryAt = Date.now() + (this.options.retryMs ?? 5_000);
      this.recordError(err, 'could not start replication');
    }
  }

  private async resumeLastChain(): Promise<boolean> {
    const leftovers = await this.store.cleanLeftovers?.();
    if (leftovers?.length)
      this.logger.warn(`replication: removed leftovers of an interrupted run: ${leftovers.join(', ')}`);
    const open = (await this.store.listChains()).filter((c) => !c.end).pop();
    if (!open) return false;
    const ended = this.unrecordedEnd;
    if (ended?.chain.id === open.id) {
      await this.markEnded(ended.chain, ended.lastTx, ended.reason, ended.at); // throws: try again later
      this.unrecordedEnd = null;
      return false;
    }
    const segments = await this.store.listSegments(open.id);
    const last = segments[segments.length - 1];
    const footer = last ? await this.store.segmentFooter(open.id, last.seq) : null;
    const position: WalPosition = footer ? footer.wal_end : open.start.wal;
    const follower = this.openFollower();
    try {
      follower.resume(position, footer?.last_time_us ?? open.start.time_us);
    } catch (err) {
      this.closeFollower();
      if (!(err instanceof ChainBreak)) throw err;
      this.counters.breaks++;
      this.lastBreak = { reason: err.reason, at: this.clock.now() };
      await this.markEnded(open, footer?.last_tx ?? 0, `${err.reason} (found when the agent started)`);
      this.logger.warn(`replication: ${open.id} cannot be continued: ${err.reason}; a new chain starts`);
      return false;
    }
    this.chain = open;
    this.encoder = new SegmentEncoder(follower.pageSize, new PageVersions());
    this.nextTx = (footer?.last_tx ?? 0) + 1;
    this.durableTx = this.nextTx - 1;
    this.seq = last?.seq ?? 0;
    this.lastSha = footer ? await this.shaOf(open.id, last.seq) : null;
    this.unwritten = [];
    this.durableUntilUs = footer?.last_time_us ?? open.start.time_us;
    this.logger.log(`replication: continuing ${open.id} after transaction ${this.nextTx - 1}`);
    return true;
  }

  private async newChain(): Promise<void> {
    const previous = (await this.store.listChains()).pop()?.id ?? null;
    let created: ChainManifest | null = null;
    const follower = this.openFollower();
    await this.takeBaseSnapshot((openReadTx) => {
      const wal = follower.anchor(openReadTx, null);
      const at = this.clock.now();
      created = {
        format: 1,
        id: ChainId.next(at, previous),
        created_at: at.toISOString(),
        page_size: follower.pageSize,
        start: { wal, time_us: at.getTime() * 1000 },
      };
      return { id: created.id, tx: 0, time_us: created.start.time_us };
    });
    if (!created) throw new Error('the base snapshot was taken without anchoring the chain');
    const chain: ChainManifest = created;
    await this.store.putChain(chain);
    this.chain = chain;
    this.encoder = new SegmentEncoder(follower.pageSize, new PageVersions());
    this.nextTx = 1;
    this.durableTx = 0;
    this.seq = 0;
    this.lastSha = null;
    this.unwritten = [];
    this.durableUntilUs = chain.start.time_us;
    this.logger.log(`replication: started ${chain.id}`);
  }

  /** Ships what it can, marks the chain ended, lets go of the WAL; a new chain follows (unless paused). */
  private async endChain(reason: string, isBreak: boolean): Promise<void> {
    const chain = this.chain;
    if (chain) {
      try {
        await this.flush();
      } catch (err) {
        this.recordError(err);
      }
      const lastTx = this.durableTx;
      const at = this.clock.now();
      await this.markEnded(chain, lastTx, reason, at).catch((err) => {
        // Recorded at the next start instead (a full volume refuses chain.json too): the chain must
        // not be taken for one to continue, and its end must keep the reason it really had.
        this.unrecordedEnd = { chain, lastTx, reason, at };
        this.recordError(err, `could not record the end of ${chain.id}`);
      });
    }
    this.closeFollower();
    this.chain = null;
    this.encoder = null;
    this.unwritten = [];
    this.pendingSince = null;
    this.oldestPendingUs = null;
    this.failingSince = null;
    if (isBreak) {
      this.counters.breaks++;
      this.lastBreak = { reason, at: this.clock.now() };
      this.logger.warn(
        `replication: chain ${chain?.id ?? '-'} ended: ${reason}; a new chain starts from a fresh snapshot`,
      );
      if (this.state === 'following' || this.state === 'starting') this.state = 'waiting';
      const volumeProblem = reason.startsWith('segments could not be written');
      this.retryAt = Date.now() + (volumeProblem ? (this.options.retryMs ?? 5_000) : 0);
    } else if (chain) {
      this.logger.log(`replication: chain ${chain.id} ended: ${reason}`);
    }
  }

  private async markEnded(
    chain: ChainManifest,
    lastTx: number,
    reason: string,
    at: Date = this.clock.now(),
  ): Promise<void> {
    await this.store.putChain({ ...chain, end: { at: at.toISOString(), reason, last_tx: lastTx } });
  }

  private async shaOf(chain: string, seq: number): Promise<string> {
    const bytes = await this.store.readSegment(chain, seq);
    return bytes.subarray(bytes.length - 32).toString('hex');
  }

  private openFollower(): WalFollower {
    this.closeFollower();
    this.follower = new WalFollower(this.options.dbPath, {
      restartAfterFrames: this.options.restartAfterFrames ?? 1000,
      lockTimeoutMs: 5_000,
      nowUs: () => this.clock.now().getTime() * 1000,
    });
    return this.follower;
  }

  private closeFollower(): void {
    this.counters.walRestarts += this.follower?.restarts ?? 0;
    this.follower?.close();
    this.follower = null;
  }

  private recordError(err: unknown, context?: string): void {
    const message = `${context ? `${context}: ` : ''}${(err as Error)?.message ?? String(err)}`;
    if (this.lastError?.message !== message) this.logger.error(`replication: ${message}`);
    this.lastError = { message, at: this.clock.now() };
  }
}

interface BuiltSegment {
  readonly bytes: Buffer;
  readonly footer: SegmentFooter;
  readonly sha256: string;
}
