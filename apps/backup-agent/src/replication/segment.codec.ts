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
 * Records (inside the chunks; numbers are unsigned LEB128 varints):
 *   'F' pgno, u8 encoding, then the page:
 *        encoding 0: the whole page (page_size bytes)
 *        encoding 1: a patch of the page's previous version in the chain: runs, then per run the gap
 *                    since the previous run's end, the length, and the bytes (an insert changes ~100
 *                    bytes of a 4 KiB page)
 *   'C' commit time minus the previous commit's (microseconds; the first is relative to the footer's
 *        first_time_us), u8 flags (1: the time was written by the transaction itself, 0: when the agent
 *        saw it), database pages after the commit
 * A transaction is the 'F' records since the previous 'C' and the 'C' that ends it; transactions are
 * numbered from the footer's first_tx. A patch refers to the page's previous version in the chain's
 * stream, which is what a replay in order has in hand (and what a snapshot taken at an earlier point
 * of the chain holds); after a commit that shrinks the database, no page is patched against a
 * version older than it (a page cut off and grown again would not be in such a snapshot).
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
 * The latest version of recently written pages of a chain, to patch the next version against. Shared
 * by the chain's successive segment encoders; bounded (a page that fell out is stored whole).
 */
export class PageVersions {
  private readonly latest = new Map<number, Buffer>();
  private dbPages: number | null = null;

  constructor(private readonly maxPages = 2048) {}

  get(pgno: number): Buffer | undefined {
    return this.latest.get(pgno);
  }

  set(pgno: number, page: Buffer): void {
    this.latest.delete(pgno); // re-inserted last: the map's order is least recently written first
    this.latest.set(pgno, Buffer.from(page));
    if (this.latest.size > this.maxPages) this.latest.delete(this.latest.keys().next().value as number);
  }

  /** After a commit: a smaller database forgets every version (see the format above). */
  committed(dbPages: number): void {
    if (this.dbPages !== null && dbPages < this.dbPages) this.latest.clear();
    this.dbPages = dbPages;
  }
}

/**
 * Builds one segment from frames and commits, in order. Memory stays bounded: records are
 * compressed a chunk at a time, and the page versions kept to patch against are bounded.
 */
export class SegmentEncoder {
  private readonly chunks: Buffer[] = [];
  private records: Buffer[] = [];
  private recordBytes = 0;
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
    /** The chain's page versions, carried from one segment to the next. */
    readonly versions: PageVersions = new PageVersions(),
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
    const previous = this.versions.get(pgno);
    const patch = previous ? diffPage(previous, page) : null;
    this.push(Buffer.from([FRAME]), varint(pgno), Buffer.from([patch ? PATCH : FULL]), patch ?? page);
    this.versions.set(pgno, page);
    this.frames++;
    this.openFrames++;
  }

  /** Ends the transaction in progress. */
  commit(tx: number, timeUs: number, stamped: boolean, dbPages: number): void {
    if (this.lastTx !== null && tx !== this.lastTx + 1) {
      throw new RangeError(`transaction ${tx} does not follow ${this.lastTx}`);
    }
    timeUs = Math.round(timeUs);
    if (this.firstTx === null) {
      this.firstTx = tx;
      this.firstTimeUs = timeUs;
      this.lastTimeUs = timeUs;
    }
    if (timeUs < this.lastTimeUs) throw new RangeError(`transaction ${tx} is dated before the previous one`);
    this.push(
      Buffer.from([COMMIT]),
      varint(timeUs - this.lastTimeUs),
      Buffer.from([stamped ? 1 : 0]),
      varint(dbPages),
    );
    this.versions.committed(dbPages);
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
  if (before.length !== n) return null;
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
  const parts: Buffer[] = [varint(runs.length)];
  let size = parts[0].length;
  let end = 0;
  for (const [offset, len] of runs) {
    const head = Buffer.concat([varint(offset - end), varint(len)]);
    parts.push(head, after.subarray(offset, offset + len));
    size += head.length + len;
    end = offset + len;
    if (size > n / 2) return null;
  }
  return Buffer.concat(parts, size);
}

/** Applies a patch made by diffPage onto `page` (the previous version), in place. */
export function applyPatch(page: Buffer, patch: Buffer): void {
  const [runs, first] = readVarint(patch, 0);
  let at = first;
  let end = 0;
  for (let r = 0; r < runs; r++) {
    const [gap, a] = readVarint(patch, at);
    const [len, b] = readVarint(patch, a);
    const offset = end + gap;
    if (offset + len > page.length || b + len > patch.length) {
      throw new SegmentFormatError('patch runs past the page');
    }
    patch.copy(page, offset, b, b + len);
    at = b + len;
    end = offset + len;
  }
}

/** Unsigned LEB128. */
export function varint(n: number): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`varint of ${n}`);
  const bytes: number[] = [];
  let rest = n;
  do {
    let byte = rest % 128;
    rest = Math.floor(rest / 128);
    if (rest > 0) byte |= 0x80;
    bytes.push(byte);
  } while (rest > 0);
  return Buffer.from(bytes);
}

/** [value, offset after it]. */
export function readVarint(buf: Buffer, at: number): [number, number] {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const byte = buf[at + i];
    if (byte === undefined) throw new SegmentFormatError('varint runs past its record');
    value += (byte & 0x7f) * scale;
    if ((byte & 0x80) === 0) return [value, at + i + 1];
    scale *= 128;
  }
  throw new SegmentFormatError('varint too long');
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
  const { chunksEnd, footer } = openSegment(bytes);
  const state = { tx: footer.first_tx, timeUs: footer.first_time_us };
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
    yield* chunkRecords(raw, pageSize, state);
  }
}

function* chunkRecords(
  raw: Buffer,
  pageSize: number,
  state: { tx: number; timeUs: number },
): Generator<SegmentRecord> {
  let at = 0;
  while (at < raw.length) {
    const kind = raw[at];
    if (kind === FRAME) {
      const [pgno, next] = readVarint(raw, at + 1);
      const encoding = raw[next];
      at = next + 1;
      if (encoding === FULL) {
        yield { kind: 'frame', pgno, page: raw.subarray(at, at + pageSize), patch: null };
        at += pageSize;
      } else if (encoding === PATCH) {
        const [runs, first] = readVarint(raw, at);
        let end = first;
        for (let r = 0; r < runs; r++) {
          const [, a] = readVarint(raw, end);
          const [len, b] = readVarint(raw, a);
          end = b + len;
        }
        yield { kind: 'frame', pgno, page: null, patch: raw.subarray(at, end) };
        at = end;
      } else {
        throw new SegmentFormatError(`unknown page encoding ${encoding}`);
      }
    } else if (kind === COMMIT) {
      const [delta, a] = readVarint(raw, at + 1);
      const stamped = raw[a] === 1;
      const [dbPages, b] = readVarint(raw, a + 1);
      state.timeUs += delta;
      yield { kind: 'commit', tx: state.tx++, timeUs: state.timeUs, stamped, dbPages };
      at = b;
    } else {
      throw new SegmentFormatError(`unknown record type ${kind}`);
    }
    if (at > raw.length) throw new SegmentFormatError('record runs past its chunk');
  }
}
