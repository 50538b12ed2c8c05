import { SegmentFooter, WalPosition } from './segment.codec';

/**
 * A chain: a snapshot's starting point plus the segments of every transaction committed after it,
 * without a gap. It ends (and says why) when continuity is lost; a new one starts from a new snapshot.
 * `chain.json` is written when the chain starts and rewritten once when it ends.
 */
export interface ChainManifest {
  readonly format: 1;
  readonly id: string;
  readonly created_at: string;
  readonly page_size: number;
  /** Where the WAL stood when the chain started (its base snapshot holds everything before). */
  readonly start: { readonly wal: WalPosition; readonly time_us: number };
  /** Set when the chain ended: the last transaction it holds and why it could not go on. */
  readonly end?: { readonly at: string; readonly reason: string; readonly last_tx: number };
}

export interface StoredSegment {
  readonly chain: string;
  readonly seq: number;
  readonly size: number;
}

/** What a listing must know of a segment to compute ranges: its transactions and their times. */
export type SegmentSummary = Pick<
  SegmentFooter,
  'chain' | 'seq' | 'first_tx' | 'last_tx' | 'tx_count' | 'first_time_us' | 'last_time_us'
>;

/**
 * Where chains are kept. The local directory today; the contract is the same for a bucket: segments
 * are immutable and whole once listed, and are read back by chain and sequence number.
 */
export interface ChainStore {
  readonly kind: 'local' | 's3';
  readonly location: string;
  listChains(): Promise<ChainManifest[]>;
  putChain(manifest: ChainManifest): Promise<void>;
  listSegments(chain: string): Promise<StoredSegment[]>;
  putSegment(chain: string, seq: number, bytes: Buffer): Promise<void>;
  readSegment(chain: string, seq: number): Promise<Buffer>;
  /** A segment's transactions and times, without reading its pages (a file's footer, an object's name). */
  segmentSummary(chain: string, seq: number): Promise<SegmentSummary>;
  removeSegment(chain: string, seq: number): Promise<void>;
  removeChain(chain: string): Promise<void>;
  /** Removes what an interrupted write left behind (a store without temp files has nothing to do). */
  cleanLeftovers?(): Promise<string[]>;
}

/** Chain ids: `chain-<unix-ms>`, checked before any path or key is built from them. */
export const ChainId = {
  pattern: /^chain-(\d{12,14})$/,
  isValid(id: string): boolean {
    return typeof id === 'string' && ChainId.pattern.test(id);
  },
  normalize(id: string): string {
    if (!ChainId.isValid(id))
      throw new RangeError(`invalid chain id ${JSON.stringify(String(id).slice(0, 40))}`);
    return id;
  },
  /** A new id for a chain started at `at` (ids of one process are strictly increasing). */
  next(at: Date, after: string | null): string {
    const previous = after ? Number(ChainId.pattern.exec(after)?.[1] ?? 0) : 0;
    return `chain-${Math.max(at.getTime(), previous + 1)}`;
  },
  compare(a: string, b: string): number {
    return Number(ChainId.pattern.exec(a)?.[1]) - Number(ChainId.pattern.exec(b)?.[1]);
  },
};

export function parseChainManifest(value: unknown): ChainManifest | null {
  const m = value as Partial<ChainManifest> | null;
  if (!m || m.format !== 1 || typeof m.id !== 'string' || !ChainId.isValid(m.id)) return null;
  if (typeof m.page_size !== 'number' || typeof m.created_at !== 'string' || !m.start) return null;
  return m as ChainManifest;
}
