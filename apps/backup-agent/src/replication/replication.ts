import { ChainPosition } from '@pra-kit/shared';
import { Clock, Logger } from '../core/ports';
import {
  ChainPruning,
  ChainView,
  PointInTimePlan,
  Replication,
  ReplicationStatus,
  SnapshotInChain,
} from '../core/replication.port';
import { ChainCatalog } from './chain.catalog';
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

/**
 * Continuous replication, assembled: the chain store on the backup volume, the catalog (ranges,
 * plans, replays) and, when following, the replicator. The core sees it through its Replication port.
 */
export class ReplicationService implements Replication {
  readonly store: LocalChainStore;
  readonly catalog: ChainCatalog;
  readonly replicator: Replicator | null;

  constructor(
    private readonly settings: ReplicationSettings,
    snapshots: () => Promise<SnapshotInChain[]>,
    takeBaseSnapshot: BaseSnapshotTaker,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {
    this.store = new LocalChainStore(settings.backupDir);
    this.replicator = settings.follow
      ? new Replicator(
          { dbPath: settings.dbPath, syncIntervalMs: settings.syncIntervalMs },
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

  plan(at: Date | 'latest'): Promise<PointInTimePlan> {
    return this.catalog.plan(at, this.clock.now());
  }

  async materialize(plan: PointInTimePlan, snapshotFile: string, destFile: string): Promise<void> {
    await this.catalog.materialize(plan, snapshotFile, destFile);
  }

  chains(): Promise<ChainView[]> {
    return this.catalog.chains(this.clock.now());
  }

  status(): ReplicationStatus | null {
    return this.replicator?.status() ?? null;
  }

  /**
   * Removes what no restore can use any more:
   * - a chain with no snapshot left (its segments have nothing to start from), unless it is live;
   * - the segments before a chain's oldest snapshot;
   * - the segments older than the window, down to the newest snapshot before the window's start,
   *   so the range that remains is continuous; all of an ended chain's when it ended before it.
   */
  async prune(kept: readonly SnapshotInChain[], now: Date): Promise<ChainPruning> {
    const live = this.liveChain()?.id ?? null;
    const windowStartUs = (now.getTime() - this.settings.windowMs) * 1000;
    let segments = 0;
    let bytes = 0;
    const chains: string[] = [];
    for (const chain of await this.store.listChains()) {
      const snapshots = kept.filter((s) => s.chain === chain.id).sort((a, b) => a.tx - b.tx);
      const stored = await this.store.listSegments(chain.id);
      if (snapshots.length === 0) {
        if (chain.id === live) continue;
        await this.store.removeChain(chain.id);
        chains.push(chain.id);
        segments += stored.length;
        bytes += stored.reduce((n, s) => n + s.size, 0);
        continue;
      }
      const last = stored[stored.length - 1];
      const endUs = last ? (await this.store.segmentFooter(chain.id, last.seq)).last_time_us : 0;
      let cut = snapshots[0].tx;
      if (chain.id !== live && endUs < windowStartUs) {
        cut = Number.POSITIVE_INFINITY; // the whole chain is older than the window: its points stay
      } else {
        const beforeWindow = [...snapshots].reverse().find((s) => s.timeUs <= windowStartUs);
        if (beforeWindow) cut = Math.max(cut, beforeWindow.tx);
      }
      for (const s of stored) {
        const footer = await this.store.segmentFooter(chain.id, s.seq);
        if (footer.last_tx > cut) break;
        await this.store.removeSegment(chain.id, s.seq);
        segments++;
        bytes += s.size;
      }
    }
    if (segments > 0 || chains.length > 0) {
      this.logger.log(
        `retention removed ${segments} segment(s) (${bytes} bytes)` +
          (chains.length > 0 ? ` and chain(s) ${chains.join(', ')} (no snapshot left)` : ''),
      );
    }
    return { segments, chains, bytes };
  }

  private liveChain(): { id: string; durableUntilUs: number | null } | null {
    const s = this.replicator?.status();
    return s && s.state === 'following' && s.chain ? { id: s.chain, durableUntilUs: s.durableUntilUs } : null;
  }
}
