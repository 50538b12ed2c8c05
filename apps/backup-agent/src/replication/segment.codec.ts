import { createHash } from 'node:crypto';
import { deflateRawSync, inflateRawSync } from 'node:zlib';

/**
 * The segment file: committed transactions of one chain, in commit order, immutable once written.
 *
 *   offset 0   "PRASEG1\n"                       8 bytes, the format
 *              chunks, each: u32 raw length, u32 stored length, raw-deflate of the records
 *              u32 0, u32 0                       the end of the chunks
 *              footer: JSON (SegmentFooter)       what the segment holds, where it stands in the chain
 *              u32 footer length
 *   end - 32   sha256 of every byte before it     the segment's identity and integrity
 *
 * Records (inside the chunks, big-endian):
 *   'F' u32 pgno, u8 encoding, then the page:
 *        encoding 0: the whole page (page_size bytes)
 *        encoding 1: a patch of the page's previous version in this segment: u16 runs, then per run
 *                    u16 offset, u16 length, the bytes (an insert changes ~100 bytes of a 4 KiB page)
 *   'C' u64 transaction number, u64 commit time (microseconds since the epoch), u8 flags (1: the time
 *        was written by the transaction itself, 0: when the agent saw it), u32 database pages after it
 * A transaction is the 'F' records since the previous 'C' and the 'C' that ends it. Patches refer only
 * to pages earlier in the same segment, so a segment is decoded on its own, in order.
 */

export const SEGMENT_MAGIC = Buffer.from('PRASEG1\n', 'ascii');
const SHA256_BYTES = 32;
/** Records are compressed in chunks of about this many raw bytes (bounded memory on both sides). */
const CHUNK_BYTES = 1024 * 1024;
const FRAME = 0x46; // 'F'
const COMMIT = 0x43; // 'C'
const FULL = 0;
const PATCH = 1;

/** Where the WAL stood after a segment's last frame: enough to check that the next frames follow. */
export interface WalPosition {
  readonly salt1: number;
  readonly salt2: number;
  readonly checkpoint_seq: number;
  /** The last frame copied (0: none yet in this generation). */
  readonly frame: number;
  /** WAL checksum after that frame (the header's checksum when frame is 0). */
  readonly checksum: readonly [number, number];
}

export interface SegmentFooter {
  readonly format: 1;
  readonly chain: string;
  /** 1, 2, 3... without gaps within a chain. */
  readonly seq: number;
  readonly page_size: number;
  readonly first_tx: number;
  readonly last_tx: number;
  readonly tx_count: number;
  readonly first_time_us: number;
  readonly last_time_us: number;
  /** Transactions whose commit time they wrote themselves (the others: when the agent saw them). */
  readonly stamped_txs: number;
  readonly frames: number;
  /** Bytes of WAL frames (pages) the segment represents, before patches and compression. */
  readonly wal_bytes: number;
  /** The previous segment's sha256, so a missing or swapped segment breaks the chain visibly. */
  readonly prev_sha256: string | null;
  readonly wal_end: WalPosition;
  /** Database size in pages after the last transaction. */
  readonly db_pages: number;
  readonly written_at: string;
}

export type SegmentRecord =
  | {
      readonly kind: 'frame';
      readonly pgno: number;
      readonly page: Buffer | null;
      readonly patch: Buffer | null;
    }
  | {
      readonly kind: 'commit';
      readonly tx: number;
      readonly timeUs: number;
      readonly stamped: boolean;
      readonly dbPages: number;
    };

/**
 * Builds one segment from frames and commits, in order. Memory stays bounded: records are
 * compressed a chunk at a time, and only the last `maxCachedPages` page versions are kept to patch
 * against (an older page is stored whole).
 */
export class SegmentEncoder {
  private readonly chunks: Buffer[] = [];
  private records: Buffer[] = [];
  private recordBytes = 0;
  private readonly latest = new Map<number, Buffer>();
  private frames = 0;
  private commits = 0;
  private firstTx: number | null = null;
  private lastTx: number | null = null;
  private firstTimeUs = 0;
  private lastTimeUs = 0;
  private stamped = 0;
  private dbPages = 0;
  private openFrames = 0;

  constructor(
    readonly pageSize: number,
    private readonly maxCachedPages = 2048,
  ) {}

  get txCount(): number {
    return this.commits;
  }

  get frameCount(): number {
    return this.frames;
  }

  /** Raw record bytes so far (before compression). */
  get size(): number {
    return this.chunks.reduce((n, c) => n + c.length, 0) + this.recordBytes;
  }

  get firstTimeUsOrNull(): number | null {
    return this.firstTx === null ? null : this.firstTimeUs;
  }

  /** A frame of the transaction in progress (the page is copied: the caller may reuse its buffer). */
  frame(pgno: number, page: Buffer): void {
    if (page.length !== this.pageSize)
      throw new RangeError(`page ${pgno} is ${page.length} bytes, not ${this.pageSize}`);
    const previous = this.latest.get(pgno);
    const patch = previous ? diffPage(previous, page) : null;
    const head = Buffer.alloc(6);
    head[0] = FRAME;
    head.writeUInt32BE(pgno, 1);
    head[5] = patch ? PATCH : FULL;
    this.push(head, patch ?? page);
    const copy = Buffer.from(page);
    this.latest.delete(pgno); // re-inserted last: the map's order is least recently written first
    this.latest.set(pgno, copy);
    if (this.latest.size > this.maxCachedPages) this.latest.delete(this.latest.keys().next().value as number);
    this.frames++;
    this.openFrames++;
  }

  /** Ends the transaction in progress. */
  commit(tx: number, timeUs: number, stamped: boolean, dbPages: number): void {
    if (this.lastTx !== null && tx !== this.lastTx + 1) {
      throw new RangeError(`transaction ${tx} does not follow ${this.lastTx}`);
    }
    const rec = Buffer.alloc(22);
    rec[0] = COMMIT;
    rec.writeBigUInt64BE(BigInt(tx), 1);
    rec.writeBigUInt64BE(BigInt(Math.round(timeUs)), 9);
    rec[17] = stamped ? 1 : 0;
    rec.writeUInt32BE(dbPages, 18);
    this.push(rec);
    if (this.firstTx === null) {
      this.firstTx = tx;
      this.firstTimeUs = timeUs;
    }
    this.lastTx = tx;
    this.lastTimeUs = timeUs;
    this.dbPages = dbPages;
    if (stamped) this.stamped++;
    this.commits++;
    this.openFrames = 0;
  }

  /** The whole file. Only committed transactions may be in it. */
  finish(meta: {
    chain: string;
    seq: number;
    prevSha256: string | null;
    walEnd: WalPosition;
    writtenAt: Date;
  }): { bytes: Buffer; footer: SegmentFooter; sha256: string } {
    if (this.openFrames > 0) throw new Error('a segment cannot end inside a transaction');
    if (this.firstTx === null || this.lastTx === null) throw new Error('an empty segment');
    this.flushChunk();
    const footer: SegmentFooter = {
      format: 1,
      chain: meta.chain,
      seq: meta.seq,
      page_size: this.pageSize,
      first_tx: this.firstTx,
      last_tx: this.lastTx,
      tx_count: this.commits,
      first_time_us: this.firstTimeUs,
      last_time_us: this.lastTimeUs,
      stamped_txs: this.stamped,
      frames: this.frames,
      wal_bytes: this.frames * this.pageSize,
      prev_sha256: meta.prevSha256,
      wal_end: meta.walEnd,
      db_pages: this.dbPages,
      written_at: meta.writtenAt.toISOString(),
    };
    const footerBytes = Buffer.from(JSON.stringify(footer), 'utf8');
    const footerLength = Buffer.alloc(4);
    footerLength.writeUInt32BE(footerBytes.length);
    const body = Buffer.concat([SEGMENT_MAGIC, ...this.chunks, Buffer.alloc(8), footerBytes, footerLength]);
    const sha = createHash('sha256').update(body).digest();
    return { bytes: Buffer.concat([body, sha]), footer, sha256: sha.toString('hex') };
  }

  private push(...parts: Buffer[]): void {
    for (const p of parts) {
      this.records.push(p);
      this.recordBytes += p.length;
    }
    if (this.recordBytes >= CHUNK_BYTES) this.flushChunk();
  }

  private flushChunk(): void {
    if (this.recordBytes === 0) return;
    const raw = Buffer.concat(this.records, this.recordBytes);
    const stored = deflateRawSync(raw, { level: 6 });
    const head = Buffer.alloc(8);
    head.writeUInt32BE(raw.length, 0);
    head.writeUInt32BE(stored.length, 4);
    this.chunks.push(head, stored);
    this.records = [];
    this.recordBytes = 0;
  }
}

/**
 * The changed byte runs from `before` to `after` (runs closer than 8 bytes are merged), encoded as a
 * patch; null when a patch would not be much smaller than the page.
 */
export function diffPage(before: Buffer, after: Buffer): Buffer | null {
  const n = after.length;
  if (n > 65535 || before.length !== n) return null;
  const runs: [number, number][] = [];
  let i = 0;
  while (i < n) {
    if (before[i] === after[i]) {
      i++;
      continue;
    }
    const start = i;
    let end = i + 1; // exclusive
    let same = 0;
    for (let j = end; j < n && same < 8; j++) {
      if (before[j] === after[j]) same++;
      else {
        same = 0;
        end = j + 1;
      }
    }
    runs.push([start, end - start]);
    i = end;
  }
  const size = 2 + runs.reduce((s, [, len]) => s + 4 + len, 0);
  if (size > n / 2) return null;
  const patch = Buffer.alloc(size);
  patch.writeUInt16BE(runs.length, 0);
  let at = 2;
  for (const [offset, len] of runs) {
    patch.writeUInt16BE(offset, at);
    patch.writeUInt16BE(len, at + 2);
    after.copy(patch, at + 4, offset, offset + len);
    at += 4 + len;
  }
  return patch;
}

/** Applies a patch made by diffPage onto `page` (the previous version), in place. */
export function applyPatch(page: Buffer, patch: Buffer): void {
  const runs = patch.readUInt16BE(0);
  let at = 2;
  for (let r = 0; r < runs; r++) {
    const offset = patch.readUInt16BE(at);
    const len = patch.readUInt16BE(at + 2);
    if (offset + len > page.length || at + 4 + len > patch.length)
      throw new SegmentFormatError('patch runs past the page');
    patch.copy(page, offset, at + 4, at + 4 + len);
    at += 4 + len;
  }
}

export class SegmentFormatError extends Error {}

/** Footer of a segment file's bytes, after checking the magic, the layout and the sha256. */
export function openSegment(bytes: Buffer): { footer: SegmentFooter; sha256: string; chunksEnd: number } {
  if (
    bytes.length < SEGMENT_MAGIC.length + 8 + 4 + SHA256_BYTES ||
    !bytes.subarray(0, 8).equals(SEGMENT_MAGIC)
  ) {
    throw new SegmentFormatError('not a segment file');
  }
  const bodyEnd = bytes.length - SHA256_BYTES;
  const sha = createHash('sha256').update(bytes.subarray(0, bodyEnd)).digest();
  if (!sha.equals(bytes.subarray(bodyEnd))) throw new SegmentFormatError('sha256 does not match its content');
  const footerLength = bytes.readUInt32BE(bodyEnd - 4);
  const footerStart = bodyEnd - 4 - footerLength;
  if (footerStart < SEGMENT_MAGIC.length + 8) throw new SegmentFormatError('footer length out of range');
  let footer: SegmentFooter;
  try {
    footer = JSON.parse(bytes.toString('utf8', footerStart, bodyEnd - 4)) as SegmentFooter;
  } catch {
    throw new SegmentFormatError('unreadable footer');
  }
  if (footer?.format !== 1) throw new SegmentFormatError('unknown segment format');
  return { footer, sha256: sha.toString('hex'), chunksEnd: footerStart };
}

/**
 * The records of a segment, in order (the bytes must have passed openSegment). Pages are views into
 * the decompressed chunk: copy what you keep.
 */
export function* segmentRecords(bytes: Buffer, pageSize: number): Generator<SegmentRecord> {
  const { chunksEnd } = openSegment(bytes);
  let at = SEGMENT_MAGIC.length;
  for (;;) {
    if (at + 8 > chunksEnd) throw new SegmentFormatError('chunks run into the footer');
    const rawLength = bytes.readUInt32BE(at);
    const storedLength = bytes.readUInt32BE(at + 4);
    at += 8;
    if (rawLength === 0 && storedLength === 0) break;
    if (at + storedLength > chunksEnd) throw new SegmentFormatError('chunk runs into the footer');
    const raw = inflateRawSync(bytes.subarray(at, at + storedLength));
    if (raw.length !== rawLength) throw new SegmentFormatError('chunk length differs from its header');
    at += storedLength;
    yield* chunkRecords(raw, pageSize);
  }
}

function* chunkRecords(raw: Buffer, pageSize: number): Generator<SegmentRecord> {
  let at = 0;
  while (at < raw.length) {
    const kind = raw[at];
    if (kind === FRAME) {
      const pgno = raw.readUInt32BE(at + 1);
      const encoding = raw[at + 5];
      at += 6;
      if (encoding === FULL) {
        yield { kind: 'frame', pgno, page: raw.subarray(at, at + pageSize), patch: null };
        at += pageSize;
      } else if (encoding === PATCH) {
        const runs = raw.readUInt16BE(at);
        let end = at + 2;
        for (let r = 0; r < runs; r++) end += 4 + raw.readUInt16BE(end + 2);
        yield { kind: 'frame', pgno, page: null, patch: raw.subarray(at, end) };
        at = end;
      } else {
        throw new SegmentFormatError(`unknown page encoding ${encoding}`);
      }
    } else if (kind === COMMIT) {
      yield {
        kind: 'commit',
        tx: Number(raw.readBigUInt64BE(at + 1)),
        timeUs: Number(raw.readBigUInt64BE(at + 9)),
        stamped: raw[at + 17] === 1,
        dbPages: raw.readUInt32BE(at + 18),
      };
      at += 22;
    } else {
      throw new SegmentFormatError(`unknown record type ${kind}`);
    }
    if (at > raw.length) throw new SegmentFormatError('record runs past its chunk');
  }
}
