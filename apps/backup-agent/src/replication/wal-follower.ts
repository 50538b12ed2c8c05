import Database from 'better-sqlite3';
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { COMMIT_CLOCK_ROW, COUNTERS_TABLE } from '@pra-kit/shared';
import { isCorruptionError } from '../infra/sqlite-file';
import { WalPosition } from './segment.codec';
import { leafRecords, rootPageOf, usableSizeOf } from './sqlite-record';
import {
  checkFrame,
  frameOffset,
  parseFrameHeader,
  parseWalHeader,
  parseWalIndexHeader,
  WAL_FRAME_HEADER_BYTES,
  WAL_HEADER_BYTES,
  WAL_INDEX_HEADER_BYTES,
  WalChecksum,
  WalHeader,
  WalIndexHeader,
} from './wal-format';

/** Where committed transactions go, in commit order. */
export interface TransactionSink {
  frame(pgno: number, page: Buffer): void;
  /** timeUs: the commit time written by the transaction itself (stamped) or when it was seen. */
  commit(timeUs: number, stamped: boolean, dbPages: number): void;
}

/** The follower lost the thread: the chain must end here and a new one start from a snapshot. */
export class ChainBreak extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'ChainBreak';
  }
}

export interface FollowerOptions {
  /** WAL frames after which the follower restarts the WAL itself (SQLite's autocheckpoint is 1000). */
  readonly restartAfterFrames: number;
  /** How long the follower may wait for the write lock to anchor a snapshot or restart the WAL. */
  readonly lockTimeoutMs: number;
  /** Microseconds since the epoch, for transactions that carry no commit time of their own. */
  readonly nowUs: () => number;
}

interface Generation {
  readonly salt1: number;
  readonly salt2: number;
  readonly checkpointSeq: number;
  readonly bigEndianChecksum: boolean;
  readonly pageSize: number;
}

/**
 * How long a WAL restart waits for the write lock: the API's commits hold it for a few ms; when it
 * is busier than that, the restart is simply tried again at the next poll.
 */
const RESTART_LOCK_WAIT_MS = 50;

/** Frames read per pread while catching up. */
const BATCH_FRAMES = 128;

/**
 * Follows a live SQLite database's WAL from another process and hands every committed transaction,
 * in order, to a sink. It never writes to the database.
 *
 * The protocol (docs/architecture.md, "Continuous replication"):
 * - **Pins.** A WAL only restarts (overwriting its frames from the top) when a checkpoint has copied
 *   every frame into the database and no reader is using the WAL. The follower always holds a read
 *   transaction, on one of two connections: it opens the new one before it closes the old one, and
 *   between the two it copies every frame the WAL index says is committed. A reader that uses the WAL
 *   forbids the restart; a reader that started when everything was checkpointed forbids any further
 *   checkpoint, so at most one restart can happen, exactly where the follower had copied everything.
 *   So no committed frame is overwritten before it is copied, and the API never waits for us: read
 *   transactions do not block writers in WAL mode.
 * - **Committed only.** Frames are read up to the WAL index's `mxFrame`, never further: frames past
 *   it are a transaction in progress, or one a killed writer wrote but never published (SQLite
 *   overwrites those). Every frame is checked against the generation's salts and checksum chain.
 * - **Restarts.** Pins make the WAL grow; once it has `restartAfterFrames` frames the follower takes the
 *   write lock for a moment, copies the last frames, checkpoints everything and lets the next writer
 *   start the WAL again from the top. A new generation is accepted only as the direct successor
 *   (salt-1 + 1, checkpoint sequence + 1) of the one followed; anything else breaks the chain.
 * - **Breaks** (ChainBreak): the database file removed or replaced, a generation we did not see
 *   start, a committed frame that fails its checksum, a changed page size.
 */
export class WalFollower {
  private readonly pins: [Database.Database, Database.Database];
  private active: 0 | 1 | null = null;
  private readonly writer: Database.Database;
  private readonly checkpointer: Database.Database;
  private readonly dbFd: number;
  private readonly dbIdentity: { dev: number; ino: number };
  private walFd: number | null = null;
  private shmFd: number | null = null;
  private generation: Generation | null = null;
  private frame = 0;
  private checksum: WalChecksum = [0, 0];
  /** Transactions whose commit time we read from the `counters` table (see stampOf). */
  private countersRoot: number | null = null;
  private usableSize: number;
  private lastStamp: number | null = null;
  private lastTimeUs = 0;
  private closed = false;
  private restartsFollowed = 0;

  constructor(
    readonly dbPath: string,
    private readonly options: FollowerOptions,
  ) {
    this.dbFd = openSync(dbPath, 'r');
    const st = fstatSync(this.dbFd);
    this.dbIdentity = { dev: st.dev, ino: st.ino };
    const header = Buffer.alloc(100);
    readSync(this.dbFd, header, 0, 100, 0);
    if (header[18] !== 2 || header[19] !== 2) {
      closeSync(this.dbFd);
      throw new ChainBreak(`${dbPath} is not in WAL mode (journal_mode=WAL is what the API sets)`);
    }
    this.usableSize = usableSizeOf(header);
    const open = () => {
      const db = new Database(dbPath, { fileMustExist: true, timeout: options.lockTimeoutMs });
      db.pragma('wal_autocheckpoint = 0'); // only the checkpoints we decide; we never write anyway
      return db;
    };
    this.pins = [open(), open()];
    this.writer = open();
    this.checkpointer = open();
  }

  /** The page size of the database (and of every frame). */
  get pageSize(): number {
    return this.generation?.pageSize ?? this.usableSizePageSize();
  }

  /** WAL restarts followed from one generation to the next (the chain went on across them). */
  get restarts(): number {
    return this.restartsFollowed;
  }

  /** Where the follower stands: what a segment records as its end. */
  get position(): WalPosition {
    const g = this.generation;
    return {
      salt1: g?.salt1 ?? 0,
      salt2: g?.salt2 ?? 0,
      checkpoint_seq: g?.checkpointSeq ?? -1,
      frame: this.frame,
      checksum: [this.checksum[0], this.checksum[1]],
    };
  }

  /**
   * Starts following under the write lock: nothing can commit meanwhile, so `onAnchored` sees the
   * exact state that the follower's position describes (a snapshot's read transaction opened there
   * contains every transaction before it and none after). Frames committed before the anchor are
   * not passed to the sink: they are in that state. Returns the anchor's position.
   */
  anchor(onAnchored: () => void, sink: TransactionSink | null = null): WalPosition {
    return guarded(() => this.anchorLocked(onAnchored, sink));
  }

  private anchorLocked(onAnchored: () => void, sink: TransactionSink | null): WalPosition {
    this.withWriteLock(this.options.lockTimeoutMs, () =>
      this.advancePin(() => {
        const index = this.readIndex();
        if (this.generation === null || sink === null) this.startAt(index);
        else this.catchUp(index, sink);
        this.loadCommitClock();
        onAnchored();
      }),
    );
    return this.position;
  }

  /**
   * Continues from a position recorded earlier (the last segment of a chain, after the agent
   * restarted): possible only if the WAL still holds that exact frame of that generation.
   */
  resume(from: WalPosition, lastTimeUs: number): void {
    guarded(() => this.resumeAt(from, lastTimeUs));
  }

  private resumeAt(from: WalPosition, lastTimeUs: number): void {
    this.pin();
    const index = this.readIndex();
    const header = this.readWalHeader();
    if (!header || header.salt1 !== from.salt1 || header.salt2 !== from.salt2 || index.salt1 !== from.salt1) {
      throw new ChainBreak('the WAL was restarted while the agent was not following it');
    }
    if (from.frame > index.mxFrame) throw new ChainBreak('the WAL is shorter than where the chain stopped');
    const expected: WalChecksum =
      from.frame === 0
        ? header.checksum
        : parseFrameHeader(this.readFrames(from.frame, 1, header.pageSize)).checksum;
    if (expected[0] !== from.checksum[0] || expected[1] !== from.checksum[1]) {
      throw new ChainBreak('the WAL no longer holds the frame where the chain stopped');
    }
    this.generation = generationOf(header);
    this.frame = from.frame;
    this.checksum = [from.checksum[0], from.checksum[1]];
    this.lastTimeUs = lastTimeUs;
    this.loadCommitClock();
  }

  /**
   * Copies every transaction committed since the last call into the sink (a new pin first, the old
   * one released last). Returns the number of transactions. Throws ChainBreak.
   */
  poll(sink: TransactionSink): number {
    return guarded(() => {
      const copied = this.advancePin(() => this.catchUp(this.readIndex(), sink));
      // After the copy: what was committed before the file went away is still shipped.
      this.checkIdentity();
      return copied;
    });
  }

  /** Frames in the WAL's current generation (what makes it grow while we pin it). */
  walFrames(): number {
    return this.readIndex().mxFrame;
  }

  /**
   * Restarts the WAL when it has grown past the threshold: under the write lock, copies the last
   * frames, checkpoints everything, and pins in a way that lets only the next writer restart the
   * WAL. Returns false when it could not (the lock was busy, or a reader of the API held frames): it
   * is tried again later, and nothing is lost either way.
   */
  restartIfLarge(sink: TransactionSink): boolean {
    return guarded(() => this.restartLocked(sink));
  }

  private restartLocked(sink: TransactionSink): boolean {
    if (this.walFrames() < this.options.restartAfterFrames) return false;
    // Most of the checkpoint's work happens here, without any lock: frames up to our pin.
    this.checkpointer.pragma('wal_checkpoint(PASSIVE)');
    let done = false;
    const ok = this.tryWriteLock(RESTART_LOCK_WAIT_MS, () => {
      this.catchUp(this.readIndex(), sink);
      this.unpinAll();
      const [result] = this.checkpointer.pragma('wal_checkpoint(PASSIVE)') as {
        busy: number;
        log: number;
        checkpointed: number;
      }[];
      done = result.busy === 0 && result.log === result.checkpointed;
      this.pin(); // a reader of the checkpointed WAL: one restart may happen, nothing else
    });
    return ok && done;
  }

  /** Releases the pins and the files (the WAL may then be checkpointed and restarted freely). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const db of [...this.pins, this.writer, this.checkpointer]) {
      try {
        if (db.inTransaction) db.exec('ROLLBACK');
        db.close();
      } catch {
        // closing is best effort: the kernel releases the locks with the process anyway
      }
    }
    for (const fd of [this.dbFd, this.walFd, this.shmFd]) if (fd !== null) closeSync(fd);
  }

  private startAt(index: WalIndexHeader): void {
    const header = index.mxFrame > 0 ? this.readWalHeader() : null;
    if (index.mxFrame > 0 && (!header || header.salt1 !== index.salt1 || header.salt2 !== index.salt2)) {
      throw new ChainBreak('the WAL header does not match the WAL index');
    }
    this.generation = header ? generationOf(header) : null;
    this.frame = index.mxFrame;
    this.checksum = header ? index.frameChecksum : [0, 0];
    if (header && index.mxFrame === 0) this.checksum = header.checksum;
  }

  /** Copies frames up to the index's mxFrame (switching to the next generation when it started). */
  private catchUp(index: WalIndexHeader, sink: TransactionSink): number {
    if (index.mxFrame === 0 && (this.generation === null || index.salt1 === this.generation.salt1)) return 0;
    const g = this.generation;
    if (g === null || index.salt1 !== g.salt1 || index.salt2 !== g.salt2) {
      const header = this.readWalHeader();
      if (!header || header.salt1 !== index.salt1 || header.salt2 !== index.salt2) return 0; // restart in progress
      if (
        g !== null &&
        !(header.salt1 === (g.salt1 + 1) >>> 0 && header.checkpointSeq === g.checkpointSeq + 1)
      ) {
        throw new ChainBreak(
          `the WAL went from generation ${g.salt1} to ${header.salt1}: a restart the agent did not see`,
        );
      }
      if (g !== null && header.pageSize !== g.pageSize) throw new ChainBreak('the page size changed');
      if (g !== null) this.restartsFollowed++;
      this.generation = generationOf(header);
      this.frame = 0;
      this.checksum = header.checksum;
    }
    if (index.mxFrame < this.frame) throw new ChainBreak('the WAL index went backwards within a generation');
    return this.copyFrames(index.mxFrame, sink);
  }

  /**
   * Copies the frames up to `upTo` into the sink, whole transactions only. The frames are checked
   * first (salts, checksum chain) and only then handed over, so a frame that fails its check ends the
   * chain after the last good transaction, never in the middle of one.
   */
  private copyFrames(upTo: number, sink: TransactionSink): number {
    const g = this.generation as Generation;
    const { lastGood, checksum, failure } = this.checkFrames(upTo);
    const frameBytes = WAL_FRAME_HEADER_BYTES + g.pageSize;
    let transactions = 0;
    let counters: Buffer | null = null;
    let pageOne: Buffer | null = null;
    while (this.frame < lastGood) {
      const count = Math.min(BATCH_FRAMES, lastGood - this.frame);
      const buf = this.readFrames(this.frame + 1, count, g.pageSize);
      for (let i = 0; i < count; i++) {
        const at = i * frameBytes;
        const { pgno, commitSize } = parseFrameHeader(buf, at);
        const page = buf.subarray(at + WAL_FRAME_HEADER_BYTES, at + frameBytes);
        sink.frame(pgno, page);
        if (pgno === this.countersRoot) counters = Buffer.from(page);
        if (pgno === 1) pageOne = Buffer.from(page);
        this.frame++;
        if (commitSize !== 0) {
          if (pageOne) this.schemaChanged(pageOne);
          const { timeUs, stamped } = this.commitTime(counters);
          sink.commit(timeUs, stamped, commitSize);
          transactions++;
          counters = null;
          pageOne = null;
        }
      }
    }
    this.checksum = checksum;
    if (failure) throw new ChainBreak(failure);
    return transactions;
  }

  /** Checks frames (frame, upTo]: the last frame of the last whole valid transaction, and its checksum. */
  private checkFrames(upTo: number): { lastGood: number; checksum: WalChecksum; failure: string | null } {
    const g = this.generation as Generation;
    const frameBytes = WAL_FRAME_HEADER_BYTES + g.pageSize;
    let sum = this.checksum;
    let lastGood = this.frame;
    let goodSum = this.checksum;
    for (let n = this.frame; n < upTo; ) {
      const count = Math.min(BATCH_FRAMES, upTo - n);
      let buf: Buffer;
      try {
        buf = this.readFrames(n + 1, count, g.pageSize);
      } catch (err) {
        return { lastGood, checksum: goodSum, failure: (err as Error).message };
      }
      for (let i = 0; i < count; i++, n++) {
        const next = checkFrame(buf, i * frameBytes, g.pageSize, g, sum);
        if (!next)
          return { lastGood, checksum: goodSum, failure: `committed WAL frame ${n + 1} failed its checksum` };
        sum = next;
        if (parseFrameHeader(buf, i * frameBytes).commitSize !== 0) {
          lastGood = n + 1;
          goodSum = sum;
        }
      }
    }
    if (lastGood !== upTo)
      return { lastGood, checksum: goodSum, failure: `WAL frame ${upTo} is not a commit` };
    return { lastGood, checksum: goodSum, failure: null };
  }

  /**
   * A transaction's commit time. The API writes it (microseconds, strictly increasing) into the
   * `counters` row `committed_at_us` inside each write transaction, under the write lock, so it
   * orders exactly like the commits; we read it back from the page the transaction wrote. A
   * transaction that did not change it is dated when we saw it (an upper bound).
   */
  private commitTime(counters: Buffer | null): { timeUs: number; stamped: boolean } {
    const stamp = counters ? this.stampOf(counters) : null;
    const now = this.options.nowUs();
    if (stamp !== null && stamp !== this.lastStamp && stamp <= now + 5_000_000) {
      this.lastStamp = stamp;
      this.lastTimeUs = Math.max(this.lastTimeUs, stamp);
      return { timeUs: this.lastTimeUs, stamped: true };
    }
    this.lastTimeUs = Math.max(this.lastTimeUs, now);
    return { timeUs: this.lastTimeUs, stamped: false };
  }

  private stampOf(page: Buffer): number | null {
    const rows = leafRecords(page, this.countersRoot as number, this.usableSize);
    const row = rows?.find((r) => r[0] === COMMIT_CLOCK_ROW);
    const value = row?.[1];
    return typeof value === 'number' && Number.isSafeInteger(value) && value > 0 ? value : null;
  }

  /** Page 1 changed (a schema change, a VACUUM): the counters table may have moved. */
  private schemaChanged(pageOne: Buffer): void {
    this.usableSize = usableSizeOf(pageOne);
    this.countersRoot = rootPageOf(pageOne, COUNTERS_TABLE, this.usableSize);
  }

  /** Reads where the counters table is and its current commit time, in the active pin's snapshot. */
  private loadCommitClock(): void {
    const db = this.pins[this.active as 0 | 1];
    try {
      const root = db
        .prepare(`SELECT rootpage FROM sqlite_master WHERE type = 'table' AND name = ?`)
        .get(COUNTERS_TABLE) as { rootpage: number } | undefined;
      this.countersRoot = root?.rootpage ?? null;
      const row = root
        ? (db.prepare(`SELECT value FROM ${COUNTERS_TABLE} WHERE name = ?`).get(COMMIT_CLOCK_ROW) as
            | { value: number }
            | undefined)
        : undefined;
      this.lastStamp = row?.value ?? null;
    } catch {
      this.countersRoot = null;
    }
  }

  /**
   * Opens a new pin, runs fn (which copies what the WAL index says is committed), then releases the
   * old pin. If fn fails, the new pin goes and the old one stays: what it protects was not copied.
   */
  private advancePin<T>(fn: () => T): T {
    const previous = this.active;
    this.pin();
    let result: T;
    try {
      result = fn();
    } catch (err) {
      this.unpin(this.active as 0 | 1);
      this.active = previous;
      throw err;
    }
    if (previous !== null) this.unpin(previous);
    return result;
  }

  private pin(): void {
    const next: 0 | 1 = this.active === 0 ? 1 : 0;
    const db = this.pins[next];
    if (db.inTransaction) db.exec('ROLLBACK');
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM sqlite_master').get(); // the read transaction starts here
    this.active = next;
  }

  private unpin(which: 0 | 1): void {
    const db = this.pins[which];
    // Ending a read transaction can report a damaged database (SQLITE_CORRUPT): it ends anyway.
    try {
      if (db.inTransaction) db.exec('ROLLBACK');
    } catch (err) {
      if (db.inTransaction) throw err;
    }
  }

  private unpinAll(): void {
    this.unpin(0);
    this.unpin(1);
    this.active = null;
  }

  private withWriteLock(waitMs: number, fn: () => void): void {
    if (!this.tryWriteLock(waitMs, fn)) {
      throw Object.assign(new Error(`${this.dbPath} stayed locked for ${waitMs} ms`), {
        code: 'SQLITE_BUSY',
      });
    }
  }

  /** Runs fn holding the database's write lock (nothing commits meanwhile); false when busy. */
  private tryWriteLock(waitMs: number, fn: () => void): boolean {
    try {
      this.writer.pragma(`busy_timeout = ${waitMs}`);
      this.writer.exec('BEGIN IMMEDIATE');
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_BUSY') return false;
      throw err;
    }
    try {
      fn();
      return true;
    } finally {
      this.writer.exec('ROLLBACK');
    }
  }

  /** The WAL index header, read the way SQLite's readers do: until both copies agree. */
  private readIndex(): WalIndexHeader {
    this.shmFd ??= openSync(`${this.dbPath}-shm`, 'r');
    const buf = Buffer.alloc(WAL_INDEX_HEADER_BYTES);
    for (let attempt = 0; attempt < 100; attempt++) {
      readSync(this.shmFd, buf, 0, buf.length, 0);
      const header = parseWalIndexHeader(buf);
      if (header) return header;
    }
    throw new ChainBreak('the WAL index header stayed inconsistent');
  }

  private readWalHeader(): WalHeader | null {
    this.walFd ??= openSync(`${this.dbPath}-wal`, 'r');
    const buf = Buffer.alloc(WAL_HEADER_BYTES);
    const n = readSync(this.walFd, buf, 0, buf.length, 0);
    return n === WAL_HEADER_BYTES ? parseWalHeader(buf) : null;
  }

  private readFrames(first: number, count: number, pageSize: number): Buffer {
    this.walFd ??= openSync(`${this.dbPath}-wal`, 'r');
    const length = count * (WAL_FRAME_HEADER_BYTES + pageSize);
    const buf = Buffer.allocUnsafe(length);
    const n = readSync(this.walFd, buf, 0, length, frameOffset(first, pageSize));
    if (n !== length) throw new ChainBreak(`the WAL ends before committed frame ${first + count - 1}`);
    return buf;
  }

  /** The database file must still be the one we follow (not deleted, not replaced by a restore). */
  private checkIdentity(): void {
    let st;
    try {
      st = statSync(this.dbPath);
    } catch {
      throw new ChainBreak(`${this.dbPath} disappeared (data volume lost?)`);
    }
    if (st.dev !== this.dbIdentity.dev || st.ino !== this.dbIdentity.ino) {
      throw new ChainBreak(`${this.dbPath} was replaced (an offline restore?)`);
    }
  }

  private usableSizePageSize(): number {
    const header = Buffer.alloc(100);
    readSync(this.dbFd, header, 0, 100, 0);
    return header.readUInt16BE(16) === 1 ? 65536 : header.readUInt16BE(16);
  }
}

/**
 * Runs a step of the follower; a damaged database (SQLITE_CORRUPT, SQLITE_NOTADB) ends the chain
 * there: everything shipped so far is the history of what was committed, and stays restorable.
 */
function guarded<T>(step: () => T): T {
  try {
    return step();
  } catch (err) {
    if (isCorruptionError(err)) {
      throw new ChainBreak(`the live database is damaged (${(err as Error).message})`);
    }
    throw err;
  }
}

function generationOf(h: WalHeader): Generation {
  return {
    salt1: h.salt1,
    salt2: h.salt2,
    checkpointSeq: h.checkpointSeq,
    bigEndianChecksum: h.bigEndianChecksum,
    pageSize: h.pageSize,
  };
}
