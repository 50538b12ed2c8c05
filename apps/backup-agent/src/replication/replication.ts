import { ChainPosition } from '@pra-kit/shared';
import { Clock, Logger } from '../core/ports';
import { PointInTimeUnavailableError } from '../core/errors';
import {
  ChainPruning,
  ChainView,
  PlanOptions,
  PointInTimePlan,
  Replication,
  ReplicationStatus,
  SnapshotInChain,
} from '../core/replication.port';
import { ChainCatalog } from './chain.catalog';
import { pruneChains } from './chain.retention';
import { ChainStore } from './chain.store';
import { LocalChainStore } from './local-chain.store';
import { BaseSnapshotTaker, Replicator } from './replicator';

export interface ReplicationSettings {
  readonly dbPath: string;
  readonly backupDir: string;
  /** BACKUP_SYNC_INTERVAL */
  readonly syncIntervalMs: number;
  /** BACKUP_PITR_WINDOW: segments older than this are pruned (down to a snapshot before it). */
  readonly windowMs: number;
  /** Follow the WAL (serve with BACKUP_REPLICATION=on); false: the read side only (one-shot commands). */
  readonly follow: boolean;
  /** Space-aware retention, asked when the volume refuses a segment for lack of room. */
  readonly onNoSpace?: (bytes: number) => Promise<void>;
}

/** How long the bucket's ranges are reused before they are listed again. */
const OFFSITE_VIEW_TTL_MS = 5_000;

/** The chains in the bucket (offsite copies on), and the snapshots there that anchor them. */
export interface OffsiteChains {
  readonly store: ChainStore;
  readonly snapshots: () => Promise<SnapshotInChain[]>;
}

/**
 * Continuous replication, assembled: the chain store on the backup volume, the catalog (ranges,
 * plans, replays) and, when following, the replicator. The core sees it through its Replication port.
 */
export class ReplicationService implements Replication {
  readonly store: LocalChainStore;
  readonly catalog: ChainCatalog;
  readonly replicator: Replicator | null;
  /** The same catalog over the bucket; null without offsite copies. */
  readonly offsiteCatalog: ChainCatalog | null;
  private offsiteView: { at: number; views: ChainView[] } | null = null;

  constructor(
    private readonly settings: ReplicationSettings,
    snapshots: () => Promise<SnapshotInChain[]>,
    takeBaseSnapshot: BaseSnapshotTaker,
    private readonly clock: Clock,
    private readonly logger: Logger,
    offsite: OffsiteChains | null = null,
  ) {
    this.store = new LocalChainStore(settings.backupDir);
    this.offsiteCatalog = offsite ? new ChainCatalog(offsite.store, offsite.snapshots) : null;
    this.replicator = settings.follow
      ? new Replicator(
          { dbPath: settings.dbPath, syncIntervalMs: settings.syncIntervalMs, onNoSpace: settings.onNoSpace },
          this.store,
          takeBaseSnapshot,
          clock,
          logger,
        )
      : null;
    this.catalog = new ChainCatalog(this.store, snapshots, () => this.liveChain());
  }

  /** Starts following (serve): resumes the last chain when the WAL allows it, or starts one. */
  start(): void {
    this.replicator?.start();
  }

  /** Ships what is committed and lets go of the WAL; the chain is continued at the next start. */
  async stop(): Promise<void> {
    await this.replicator?.stop();
  }

  anchorSnapshot(openReadTx: () => void): ChainPosition | null {
    let opened = false;
    const open = () => {
      opened = true;
      openReadTx();
    };
    try {
      const position = this.replicator?.anchorSnapshot(open) ?? null;
      if (!opened) open();
      return position;
    } catch (err) {
      // The snapshot goes on standalone: a restore point without a place in the chain.
      this.logger.warn(`replication: could not anchor the snapshot in the chain (${(err as Error).message})`);
      if (!opened) open();
      return null;
    }
  }

  sync(): Promise<void> {
    return this.replicator?.sync() ?? Promise.resolve();
  }

  pause(reason: string): Promise<void> {
    return this.replicator?.pause(reason) ?? Promise.resolve();
  }

  resume(): void {
    this.replicator?.resume();
  }

  async plan(at: Date | 'latest', options: PlanOptions = {}): Promise<PointInTimePlan> {
    const plan = await this.catalogOf(options.from ?? 'local').plan(
      at,
      this.clock.now(),
      options.allowGap ?? false,
    );
    return { ...plan, source: options.from ?? 'local' };
  }

  async materialize(plan: PointInTimePlan, snapshotFile: string, destFile: string): Promise<void> {
    await this.catalogOf(plan.source ?? 'local').materialize(plan, snapshotFile, destFile);
  }

  /**
   * The chains on the volume, and with offsite copies on, what the bucket can restore of each
   * (`offsite`: its range there; chains only in the bucket are listed too, e.g. after the volume was lost).
   */
  async chains(): Promise<ChainView[]> {
    const now = this.clock.now();
    const local = await this.catalog.chains(now);
    if (!this.offsiteCatalog) return local;
    let remote: ChainView[];
    try {
      remote = await this.offsiteChains(now);
    } catch (err) {
      this.logger.warn(`replication: the bucket's chains could not be listed (${(err as Error).message})`);
      return local.map((c) => ({ ...c, offsite: null }));
    }
    const byId = new Map(remote.map((c) => [c.id, c]));
    const merged = local.map((c) => {
      const r = byId.get(c.id);
      return { ...c, offsite: r && r.from !== null ? { from: r.from, to: r.to as string } : null };
    });
    const onlyRemote = remote
      .filter((r) => !local.some((c) => c.id === r.id))
      .map((r) => ({
        ...r,
        status: 'ended' as const,
        offsite: r.from !== null ? { from: r.from, to: r.to as string } : null,
        from: null,
        to: null,
        segments: 0,
        bytes: 0,
      }));
    return [...merged, ...onlyRemote].sort((a, b) => (a.id < b.id ? 1 : -1));
  }

  /**
   * The bucket's ranges, listed at most every OFFSITE_VIEW_TTL_MS (a listing is several requests;
   * /backups and /chains are polled by consoles and drills).
   */
  private async offsiteChains(now: Date): Promise<ChainView[]> {
    const cached = this.offsiteView;
    if (cached && now.getTime() - cached.at < OFFSITE_VIEW_TTL_MS && now.getTime() >= cached.at)
      return cached.views;
    const views = await (this.offsiteCatalog as ChainCatalog).chains(now);
    this.offsiteView = { at: now.getTime(), views };
    return views;
  }

  private catalogOf(from: 'local' | 's3'): ChainCatalog {
    if (from === 'local') return this.catalog;
    if (!this.offsiteCatalog) {
      throw new PointInTimeUnavailableError(
        'offsite copies are not configured (S3_BUCKET): no chain can be read from a bucket',
      );
    }
    return this.offsiteCatalog;
  }

  status(): ReplicationStatus | null {
    return this.replicator?.status() ?? null;
  }

  /** Retention of the chains on the volume (see chain.retention.ts). */
  async prune(kept: readonly SnapshotInChain[], now: Date): Promise<ChainPruning> {
    const pruned = await pruneChains(this.store, kept, {
      now,
      windowMs: this.settings.windowMs,
      liveChain: this.liveChain()?.id ?? null,
    });
    if (pruned.segments > 0 || pruned.chains.length > 0) {
      this.logger.log(
        `retention removed ${pruned.segments} segment(s) (${pruned.bytes} bytes)` +
          (pruned.chains.length > 0 ? ` and chain(s) ${pruned.chains.join(', ')} (no snapshot left)` : ''),
      );
    }
    return pruned;
  }

  private liveChain(): { id: string; durableUntilUs: number | null } | null {
    const s = this.replicator?.status();
    return s && s.state === 'following' && s.chain ? { id: s.chain, durableUntilUs: s.durableUntilUs } : null;
  }
}
