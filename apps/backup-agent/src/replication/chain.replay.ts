import { closeSync, fstatSync, ftruncateSync, openSync, readSync, writeSync } from 'node:fs';
import { ChainCorruptError } from '../core/errors';
import { SegmentSummary } from './chain.store';
import { applyPatch, openSegment, SegmentFooter, SegmentFormatError, segmentRecords } from './segment.codec';

/** A segment to replay: what the listing says of it, and a way to read its bytes. */
export interface SegmentSource {
  readonly footer: SegmentSummary;
  read(): Promise<Buffer>;
}

export interface ReplayResult {
  /** Transactions applied on top of the base. */
  readonly transactions: number;
  readonly dbPages: number;
  /** Commit time of the last transaction applied (µs), null when none was. */
  readonly lastTimeUs: number | null;
}

/** Pages kept in memory while replaying before they are written out (a 64 MiB cache). */
const CACHE_BYTES = 64 * 1024 * 1024;
/**
 * Segments being read while an earlier one is replayed. From a bucket each read is a round trip,
 * and a minute of history is about 75 segments: reading them one after the other would make the
 * restore's time that many round trips. They are still checked and applied strictly in order.
 */
const READ_AHEAD = 8;

/**
 * Rebuilds the database as it stood after transaction `toTx`, in place in `file` (a private copy of
 * a snapshot whose state is "after transaction `fromTx`"): the pages of every transaction in
 * (fromTx, toTx] are written in commit order, then the file takes the size the last one committed.
 * That is what SQLite's checkpoint does with the same WAL frames, so the result is the same file.
 *
 * Each segment is checked before it is used (sha256, its place in the chain: previous segment's
 * sha256 and transaction numbers without gaps); anything wrong throws ChainCorruptError naming the
 * segment. Nothing here touches the live database.
 */
export async function replaySegments(
  file: string,
  pageSize: number,
  fromTx: number,
  toTx: number,
  segments: readonly SegmentSource[],
): Promise<ReplayResult> {
  const image = new PageImage(file, pageSize);
  try {
    let tx = fromTx;
    let dbPages: number | null = null;
    let lastTimeUs: number | null = null;
    let previousSha: string | null = null;
    let records = 0;
    const reads = readAhead(segments, READ_AHEAD);
    for (const source of segments) {
      if (tx >= toTx) break;
      const name = `segment ${source.footer.seq} of ${source.footer.chain}`;
      let bytes: Buffer;
      let sha256: string;
      let footer: SegmentFooter;
      try {
        bytes = await reads.next();
        ({ footer, sha256 } = openSegment(bytes));
      } catch (err) {
        // A store's own answer stands (a wrong key, a bucket that does not answer); a missing file
        // or bytes that are not a segment name the segment.
        if ((err as NodeJS.ErrnoException).code === 'ENOENT')
          throw new ChainCorruptError(`${name} is missing`);
        if (!(err instanceof SegmentFormatError)) throw err;
        throw new ChainCorruptError(`${name} is unreadable: ${(err as Error).message}`);
      }
      if (footer.seq !== source.footer.seq || footer.chain !== source.footer.chain) {
        throw new ChainCorruptError(`${name} holds segment ${footer.seq} of ${footer.chain}`);
      }
      if (previousSha !== null && footer.prev_sha256 !== previousSha) {
        throw new ChainCorruptError(`${name} does not follow the previous segment (sha256 chain broken)`);
      }
      if (footer.first_tx > tx + 1) {
        throw new ChainCorruptError(`${name} starts at transaction ${footer.first_tx}, ${tx + 1} is missing`);
      }
      previousSha = sha256;
      let current = footer.first_tx; // the transaction the next frames belong to
      for (const record of segmentRecords(bytes, pageSize)) {
        if (record.kind === 'commit') {
          if (record.tx !== current)
            throw new ChainCorruptError(`${name}: transaction ${record.tx} out of order`);
          if (current > tx) {
            tx = current;
            dbPages = record.dbPages;
            lastTimeUs = record.timeUs;
          }
          current++;
          if (tx >= toTx) break;
        } else if (current > tx) {
          // A patch applies to the page as the image holds it: the previous version in the chain,
          // written by an earlier frame, or, before any, the base snapshot's (the same bytes).
          if (record.page) image.write(record.pgno, record.page);
          else image.patch(record.pgno, record.patch as Buffer);
        }
        if (++records % 4096 === 0) await new Promise((r) => setImmediate(r)); // stay responsive
      }
    }
    if (tx < toTx) throw new ChainCorruptError(`the segments end at transaction ${tx}, before ${toTx}`);
    image.flush(dbPages);
    return { transactions: tx - fromTx, dbPages: dbPages ?? image.pagesOnDisk(), lastTimeUs };
  } finally {
    image.close();
  }
}

/**
 * The segments' bytes in order, with up to `depth` reads in flight ahead of the one asked for. A
 * failed read surfaces when its segment's turn comes, as if it had been read then.
 */
function readAhead(segments: readonly SegmentSource[], depth: number): { next(): Promise<Buffer> } {
  const pending: Promise<Buffer>[] = [];
  let started = 0;
  const fill = () => {
    while (started < segments.length && pending.length < depth) {
      const read = segments[started++].read();
      read.catch(() => undefined); // handled when its turn comes; never an unhandled rejection
      pending.push(read);
    }
  };
  return {
    next() {
      fill();
      const read = pending.shift() as Promise<Buffer>;
      fill();
      return read;
    },
  };
}

/** A database file being rebuilt page by page, with a write-back cache. */
class PageImage {
  private readonly fd: number;
  private readonly cache = new Map<number, Buffer>();

  constructor(
    file: string,
    private readonly pageSize: number,
  ) {
    this.fd = openSync(file, 'r+');
  }

  write(pgno: number, page: Buffer): void {
    this.put(pgno, Buffer.from(page));
  }

  /** Patches the page's current version. */
  patch(pgno: number, patch: Buffer): void {
    const page = this.cache.get(pgno) ?? this.readFromDisk(pgno);
    applyPatch(page, patch);
    this.put(pgno, page);
  }

  pagesOnDisk(): number {
    return Math.floor(fstatSync(this.fd).size / this.pageSize);
  }

  /** Writes the cached pages, then gives the file `dbPages` pages (null: keep its size). */
  flush(dbPages: number | null): void {
    for (const pgno of [...this.cache.keys()].sort((a, b) => a - b)) {
      const page = this.cache.get(pgno) as Buffer;
      writeSync(this.fd, page, 0, this.pageSize, (pgno - 1) * this.pageSize);
    }
    this.cache.clear();
    if (dbPages !== null) ftruncateSync(this.fd, dbPages * this.pageSize);
  }

  close(): void {
    closeSync(this.fd);
  }

  private put(pgno: number, page: Buffer): void {
    this.cache.set(pgno, page);
    if (this.cache.size * this.pageSize > CACHE_BYTES) this.flush(null);
  }

  private readFromDisk(pgno: number): Buffer {
    const page = Buffer.alloc(this.pageSize);
    readSync(this.fd, page, 0, this.pageSize, (pgno - 1) * this.pageSize);
    return page;
  }
}
