import { ChainPruning, SnapshotInChain } from '../core/replication.port';
import { ChainStore } from './chain.store';

/**
 * Which segments and chains no restore can use any more, removed from a chain store (the volume or
 * the bucket):
 * - a chain with no snapshot left (its segments have nothing to start from), unless it is live;
 * - the segments before a chain's oldest snapshot;
 * - the segments older than the window, down to the newest snapshot before the window's start, so
 *   the range that remains is continuous; all of an ended chain's when it ended before it.
 */
export async function pruneChains(
  store: ChainStore,
  kept: readonly SnapshotInChain[],
  options: { readonly now: Date; readonly windowMs: number; readonly liveChain: string | null },
): Promise<ChainPruning> {
  const windowStartUs = (options.now.getTime() - options.windowMs) * 1000;
  let segments = 0;
  let bytes = 0;
  const chains: string[] = [];
  for (const chain of await store.listChains()) {
    const snapshots = kept.filter((s) => s.chain === chain.id).sort((a, b) => a.tx - b.tx);
    const stored = await store.listSegments(chain.id);
    if (snapshots.length === 0) {
      if (chain.id === options.liveChain) continue;
      await store.removeChain(chain.id);
      chains.push(chain.id);
      segments += stored.length;
      bytes += stored.reduce((n, s) => n + s.size, 0);
      continue;
    }
    const last = stored[stored.length - 1];
    const endUs = last ? (await store.segmentSummary(chain.id, last.seq)).last_time_us : 0;
    let cut = snapshots[0].tx;
    if (chain.id !== options.liveChain && endUs < windowStartUs) {
      cut = Number.POSITIVE_INFINITY; // the whole chain is older than the window: its points stay
    } else {
      const beforeWindow = [...snapshots].reverse().find((s) => s.timeUs <= windowStartUs);
      if (beforeWindow) cut = Math.max(cut, beforeWindow.tx);
    }
    for (const s of stored) {
      const footer = await store.segmentSummary(chain.id, s.seq);
      if (footer.last_tx > cut) break;
      await store.removeSegment(chain.id, s.seq);
      segments++;
      bytes += s.size;
    }
  }
  return { segments, chains, bytes };
}
