import { copyFile } from 'node:fs/promises';
import { ChainCorruptError, PointInTimeUnavailableError } from '../core/errors';
import { ChainView, PointInTimePlan, SnapshotInChain } from '../core/replication.port';
import { ChainManifest, ChainStore, SegmentSummary, StoredSegment } from './chain.store';
import { replaySegments, ReplayResult, SegmentSource } from './chain.replay';
import { segmentRecords } from './segment.codec';

interface ChainState {
  readonly manifest: ChainManifest;
  /** Contiguous segments (a missing one ends the usable part there). */
  readonly segments: readonly SegmentSummary[];
  /** Why the usable part ends before the last stored segment, if it does. */
  readonly gap: string | null;
  readonly bytes: number;
  readonly snapshots: readonly SnapshotInChain[];
  /** The oldest snapshot whose transactions are all covered, and the last transaction covered. */
  readonly base: SnapshotInChain | null;
  readonly lastTx: number;
  readonly lastTimeUs: number;
  /** The last commit of the last stored segment, past a gap if there is one. */
  readonly storedEndUs: number;
}

/**
 * The read side of replication: which instants each chain can restore, and the plan and replay of a
 * point-in-time restore. Works with or without a running replicator (a restore Job reads the same
 * files). Segment footers are immutable, so they are cached.
 */
export class ChainCatalog {
  private readonly footers = new Map<string, SegmentSummary>();

  constructor(
    readonly store: ChainStore,
    /** The verified local snapshots that carry a chain position. */
    private readonly snapshots: () => Promise<SnapshotInChain[]>,
    /** The chain being written now, and how far it is durable (µs); null when none. */
    private readonly live: () => { id: string; durableUntilUs: number | null } | null = () => null,
  ) {}

  async chains(now: Date): Promise<ChainView[]> {
    const states = await this.states();
    return states.reverse().map((s) => this.view(s, now));
  }

  /**
   * Plans a restore to `at` (or to the newest restorable instant). Throws PointInTimeUnavailableError
   * when no chain holds that instant, naming the ranges there are; ChainCorruptError when the
   * instant is after a missing segment of its chain (naming it), unless `allowGap`: then the plan
   * stops at the last transaction before the gap, and says so.
   */
  async plan(at: Date | 'latest', now: Date, allowGap = false): Promise<PointInTimePlan> {
    const states = (await this.states()).filter((s) => s.base !== null).reverse(); // newest first
    if (states.length === 0) {
      throw new PointInTimeUnavailableError(
        `no replication chain with a verified snapshot exists yet in ${this.store.location}: nothing can be restored to an instant`,
      );
    }
    const starts = (s: ChainState) => Math.floor((s.base as SnapshotInChain).timeUs / 1000);
    let state =
      at === 'latest'
        ? states[0]
        : states.find((s) => starts(s) <= at.getTime() && at.getTime() <= this.endMs(s, now));
    let stoppedAtGap: string | undefined;
    const beyondGap =
      at === 'latest'
        ? state?.gap
          ? state
          : undefined
        : states.find((s) => s.gap && starts(s) <= at.getTime() && at.getTime() <= this.claimedEndMs(s, now));
    if (beyondGap && (at === 'latest' || !state)) {
      const stopAt = iso(beyondGap.lastTimeUs);
      if (!allowGap) {
        throw new ChainCorruptError(
          `${beyondGap.manifest.id} in ${this.store.location}: ${beyondGap.gap}; a restore to ` +
            `${at === 'latest' ? 'the newest instant' : at.toISOString()} would stop at ${stopAt}. ` +
            `Nothing was changed; to restore up to ${stopAt}, ask for it (--allow-gap, or allow_gap=true)`,
        );
      }
      state = beyondGap;
      stoppedAtGap = `${beyondGap.gap}: stopped at ${stopAt}`;
    }
    if (!state) {
      const ranges = states
        .map(
          (s) =>
            `${iso((s.base as SnapshotInChain).timeUs)} to ${this.isLive(s) ? 'now' : iso(s.lastTimeUs)}`,
        )
        .join(', ');
      throw new PointInTimeUnavailableError(
        `${(at as Date).toISOString()} is not in a restorable range of ${this.store.location} (${ranges})` +
          (at !== 'latest' && at.getTime() > now.getTime() ? '; it is in the future' : ''),
      );
    }
    const targetMs = at === 'latest' || stoppedAtGap ? Number.POSITIVE_INFINITY : at.getTime();
    const { tx, timeUs } = await this.lastTxAtOrBefore(state, targetMs);
    const snapshot = [...state.snapshots]
      .reverse()
      .find((s) => s.tx <= tx && s.tx >= (state.base as SnapshotInChain).tx);
    const base = snapshot ?? (state.base as SnapshotInChain);
    return {
      chain: state.manifest.id,
      snapshot: base,
      toTx: tx,
      targetTimeUs: tx === base.tx ? base.timeUs : timeUs,
      ...(stoppedAtGap ? { stoppedAtGap } : {}),
    };
  }

  /**
   * Rebuilds the planned state into `destFile`: a copy of the snapshot's file, then the replay of the
   * segments after it (each checked: ChainCorruptError names a missing or altered one).
   */
  async materialize(plan: PointInTimePlan, snapshotFile: string, destFile: string): Promise<ReplayResult> {
    const chain = (await this.store.listChains()).find((c) => c.id === plan.chain);
    if (!chain) throw new PointInTimeUnavailableError(`chain ${plan.chain} is gone (retention?)`);
    const footers: SegmentSummary[] = [];
    for (const s of await this.store.listSegments(plan.chain)) {
      const footer = await this.footer(plan.chain, s.seq);
      if (footer.last_tx > plan.snapshot.tx && footer.first_tx <= plan.toTx) footers.push(footer);
    }
    const segments: SegmentSource[] = footers.map((footer) => ({
      footer,
      read: () => this.store.readSegment(footer.chain, footer.seq),
    }));
    await copyFile(snapshotFile, destFile);
    return replaySegments(destFile, chain.page_size, plan.snapshot.tx, plan.toTx, segments);
  }

  private isLive(s: ChainState): boolean {
    return !s.manifest.end && this.live()?.id === s.manifest.id;
  }

  /** What a chain holds past a gap (ms): its last stored segment, or now when it is live. */
  private claimedEndMs(s: ChainState, now: Date): number {
    return this.isLive(s) ? now.getTime() : Math.floor(s.storedEndUs / 1000);
  }

  /** The last restorable instant of a chain (ms): now for the live chain (after a sync), else its last commit. */
  private endMs(s: ChainState, now: Date): number {
    return this.isLive(s) && s.gap === null ? now.getTime() : Math.floor(s.lastTimeUs / 1000);
  }

  /** The last transaction committed at or before targetMs (ms precision), within the chain's segments. */
  private async lastTxAtOrBefore(s: ChainState, targetMs: number): Promise<{ tx: number; timeUs: number }> {
    const base = s.base as SnapshotInChain;
    let best = { tx: base.tx, timeUs: base.timeUs };
    for (const f of s.segments) {
      if (f.last_tx <= base.tx) continue;
      if (Math.floor(f.first_time_us / 1000) > targetMs) break;
      if (Math.floor(f.last_time_us / 1000) <= targetMs) {
        best = { tx: f.last_tx, timeUs: f.last_time_us };
        continue;
      }
      // The instant falls inside this segment: read its commits.
      const bytes = await this.store.readSegment(f.chain, f.seq);
      for (const r of segmentRecords(bytes, s.manifest.page_size)) {
        if (r.kind !== 'commit' || r.tx <= base.tx) continue;
        if (Math.floor(r.timeUs / 1000) > targetMs) break;
        best = { tx: r.tx, timeUs: r.timeUs };
      }
      break;
    }
    return best;
  }

  private view(s: ChainState, now: Date): ChainView {
    const live = this.isLive(s);
    return {
      id: s.manifest.id,
      status: live ? 'live' : 'ended',
      started_at: s.manifest.created_at,
      from: s.base ? iso(s.base.timeUs) : null,
      to: s.base ? (live && s.gap === null ? now.toISOString() : iso(s.lastTimeUs)) : null,
      end_reason: s.manifest.end?.reason ?? (live ? null : (s.gap ?? 'the agent stopped following it')),
      snapshots: s.snapshots.map((x) => x.backupId),
      segments: s.segments.length,
      transactions: s.segments.reduce((n, f) => n + f.tx_count, 0),
      bytes: s.bytes,
    };
  }

  private async states(): Promise<ChainState[]> {
    const [manifests, snapshots] = await Promise.all([this.store.listChains(), this.snapshots()]);
    const seen = new Set<string>();
    const states: ChainState[] = [];
    for (const manifest of manifests) {
      const stored = await this.store.listSegments(manifest.id);
      for (const x of stored) seen.add(`${x.chain}/${x.seq}`);
      const { segments, gap } = await this.contiguous(manifest.id, stored);
      const mine = snapshots.filter((x) => x.chain === manifest.id).sort((a, b) => a.tx - b.tx);
      const firstTx = segments[0]?.first_tx ?? 1;
      const lastTx = segments.length > 0 ? segments[segments.length - 1].last_tx : 0;
      // A snapshot anchors the range if every transaction after it is in the segments.
      const base = mine.find((x) => x.tx >= firstTx - 1) ?? null;
      const lastTimeUs =
        segments.length > 0
          ? segments[segments.length - 1].last_time_us
          : (base?.timeUs ?? manifest.start.time_us);
      const lastStored = stored[stored.length - 1];
      const storedEndUs =
        gap && lastStored
          ? await this.footer(manifest.id, lastStored.seq).then(
              (f) => f.last_time_us,
              () => lastTimeUs,
            )
          : lastTimeUs;
      states.push({
        manifest,
        segments,
        gap,
        bytes: stored.reduce((n, x) => n + x.size, 0),
        snapshots: mine,
        base,
        lastTx: Math.max(lastTx, base?.tx ?? 0),
        lastTimeUs,
        storedEndUs,
      });
    }
    for (const key of this.footers.keys()) if (!seen.has(key)) this.footers.delete(key); // pruned
    return states;
  }

  /**
   * The segments in order up to the first gap: a missing sequence number or transaction, or a
   * segment that cannot be read (altered, or encrypted with another key): the gap names it.
   */
  private async contiguous(
    chain: string,
    stored: readonly StoredSegment[],
  ): Promise<{ segments: SegmentSummary[]; gap: string | null }> {
    const segments: SegmentSummary[] = [];
    for (const s of stored) {
      let footer: SegmentSummary;
      try {
        footer = await this.footer(chain, s.seq);
      } catch (err) {
        return { segments, gap: `segment ${s.seq} cannot be read (${(err as Error).message})` };
      }
      const previous = segments[segments.length - 1];
      if (previous && (footer.seq !== previous.seq + 1 || footer.first_tx !== previous.last_tx + 1)) {
        return {
          segments,
          gap: `segment ${previous.seq + 1} is missing (transactions after ${previous.last_tx})`,
        };
      }
      segments.push(footer);
    }
    return { segments, gap: null };
  }

  private async footer(chain: string, seq: number): Promise<SegmentSummary> {
    const key = `${chain}/${seq}`;
    let footer = this.footers.get(key);
    if (!footer) {
      footer = await this.store.segmentSummary(chain, seq);
      this.footers.set(key, footer);
    }
    return footer;
  }
}

function iso(us: number): string {
  return new Date(Math.floor(us / 1000)).toISOString();
}
