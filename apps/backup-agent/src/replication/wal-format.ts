/**
 * SQLite's write-ahead log, read from the outside: the WAL file's header and frames, and the
 * header of the WAL index (`-shm`). Pure functions over buffers; the formats are SQLite's own
 * (https://sqlite.org/fileformat2.html section 4, and https://sqlite.org/walformat.html).
 *
 * WAL file: a 32-byte header, then frames of a 24-byte header plus one page. Every frame carries the
 * header's two salts and a checksum that chains from the previous frame's (the first frame's from
 * the header's), so a frame left over from an older generation of the WAL, or half written, never
 * validates. A frame whose "database size after commit" is not 0 ends a transaction.
 *
 * WAL index (`-shm`): shared memory the connections use. Its header says how many frames are
 * committed (`mxFrame`): frames after it in the file may be an uncommitted transaction, or one that a
 * killed writer completed on disk but never published; SQLite itself ignores them, so must we.
 */

export const WAL_HEADER_BYTES = 32;
export const WAL_FRAME_HEADER_BYTES = 24;
/** Bytes of the WAL index the header and the checkpoint info take (two header copies + info). */
export const WAL_INDEX_HEADER_BYTES = 136;

const WAL_MAGIC_LE = 0x377f0682;
const WAL_MAGIC_BE = 0x377f0683;
const WAL_FORMAT_VERSION = 3007000;

/** The two 32-bit halves of a WAL checksum. */
export type WalChecksum = readonly [number, number];

export interface WalHeader {
  /** Checksums are computed on big-endian words (else little-endian). */
  readonly bigEndianChecksum: boolean;
  readonly pageSize: number;
  /** Incremented by each WAL restart. */
  readonly checkpointSeq: number;
  /** salt-1 is incremented by each restart, salt-2 is random: together they name a generation. */
  readonly salt1: number;
  readonly salt2: number;
  /** The header's own checksum: the start of the frames' checksum chain. */
  readonly checksum: WalChecksum;
}

export interface WalFrameHeader {
  readonly pgno: number;
  /** Database size in pages after the commit, for a commit frame; 0 otherwise. */
  readonly commitSize: number;
  readonly salt1: number;
  readonly salt2: number;
  readonly checksum: WalChecksum;
}

/** What the WAL index says: committed frames, their generation, and how far checkpoints got. */
export interface WalIndexHeader {
  /** Incremented with each transaction. */
  readonly change: number;
  readonly pageSize: number;
  /** Committed frames in the WAL. */
  readonly mxFrame: number;
  /** Database size in pages at the last commit. */
  readonly nPage: number;
  /** Checksum of frame mxFrame. */
  readonly frameChecksum: WalChecksum;
  readonly salt1: number;
  readonly salt2: number;
  /** Frames already copied into the database file by checkpoints. */
  readonly nBackfill: number;
}

/**
 * SQLite's WAL checksum over `length` bytes (a multiple of 8) of `buf` from `offset`, continuing from
 * `seed`: for each pair of 32-bit words, s0 += x0 + s1; s1 += x1 + s0 (modulo 2^32).
 */
export function walChecksum(
  buf: Buffer,
  offset: number,
  length: number,
  bigEndian: boolean,
  seed: WalChecksum = [0, 0],
): WalChecksum {
  let s0 = seed[0];
  let s1 = seed[1];
  const end = offset + length;
  if (!bigEndian && (buf.byteOffset + offset) % 4 === 0 && isLittleEndianHost) {
    const words = new Uint32Array(buf.buffer, buf.byteOffset + offset, length / 4);
    for (let i = 0; i < words.length; i += 2) {
      s0 = (s0 + words[i] + s1) >>> 0;
      s1 = (s1 + words[i + 1] + s0) >>> 0;
    }
    return [s0, s1];
  }
  for (let i = offset; i < end; i += 8) {
    const x0 = bigEndian ? buf.readUInt32BE(i) : buf.readUInt32LE(i);
    const x1 = bigEndian ? buf.readUInt32BE(i + 4) : buf.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  return [s0, s1];
}

const isLittleEndianHost = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** Parses and checks a WAL header; null when the bytes are not a valid one (empty or torn WAL). */
export function parseWalHeader(buf: Buffer): WalHeader | null {
  if (buf.length < WAL_HEADER_BYTES) return null;
  const magic = buf.readUInt32BE(0);
  if (magic !== WAL_MAGIC_LE && magic !== WAL_MAGIC_BE) return null;
  if (buf.readUInt32BE(4) !== WAL_FORMAT_VERSION) return null;
  const pageSize = buf.readUInt32BE(8);
  if (!isValidPageSize(pageSize)) return null;
  const bigEndianChecksum = magic === WAL_MAGIC_BE;
  const checksum = walChecksum(buf, 0, 24, bigEndianChecksum);
  if (checksum[0] !== buf.readUInt32BE(24) || checksum[1] !== buf.readUInt32BE(28)) return null;
  return {
    bigEndianChecksum,
    pageSize,
    checkpointSeq: buf.readUInt32BE(12),
    salt1: buf.readUInt32BE(16),
    salt2: buf.readUInt32BE(20),
    checksum,
  };
}

export function parseFrameHeader(buf: Buffer, offset = 0): WalFrameHeader {
  return {
    pgno: buf.readUInt32BE(offset),
    commitSize: buf.readUInt32BE(offset + 4),
    salt1: buf.readUInt32BE(offset + 8),
    salt2: buf.readUInt32BE(offset + 12),
    checksum: [buf.readUInt32BE(offset + 16), buf.readUInt32BE(offset + 20)],
  };
}

/**
 * Checks one frame (header at `offset`, page right after it) against the generation's salts and the
 * previous checksum; returns the frame's checksum, or null when it does not belong to the chain.
 */
export function checkFrame(
  buf: Buffer,
  offset: number,
  pageSize: number,
  header: Pick<WalHeader, 'salt1' | 'salt2' | 'bigEndianChecksum'>,
  previous: WalChecksum,
): WalChecksum | null {
  const frame = parseFrameHeader(buf, offset);
  if (frame.salt1 !== header.salt1 || frame.salt2 !== header.salt2 || frame.pgno === 0) return null;
  let sum = walChecksum(buf, offset, 8, header.bigEndianChecksum, previous);
  sum = walChecksum(buf, offset + WAL_FRAME_HEADER_BYTES, pageSize, header.bigEndianChecksum, sum);
  return sum[0] === frame.checksum[0] && sum[1] === frame.checksum[1] ? sum : null;
}

/** Byte offset of frame `n` (1-based) in the WAL file. */
export function frameOffset(n: number, pageSize: number): number {
  return WAL_HEADER_BYTES + (n - 1) * (WAL_FRAME_HEADER_BYTES + pageSize);
}

/**
 * Parses the WAL index header (the first 136 bytes of `-shm`, native byte order). SQLite writes two
 * copies and readers accept them only when both agree and the checksum holds (a writer may be in the
 * middle of an update): null means "not consistent right now, read again", or not initialised.
 */
export function parseWalIndexHeader(buf: Buffer): WalIndexHeader | null {
  if (buf.length < WAL_INDEX_HEADER_BYTES) return null;
  if (!buf.subarray(0, 48).equals(buf.subarray(48, 96))) return null;
  const u32 = (o: number) => (isLittleEndianHost ? buf.readUInt32LE(o) : buf.readUInt32BE(o));
  if (u32(0) !== WAL_FORMAT_VERSION || buf[12] !== 1) return null;
  // The header checksum covers bytes 0-39 in native byte order.
  const sum = walChecksum(buf, 0, 40, !isLittleEndianHost);
  if (sum[0] !== u32(40) || sum[1] !== u32(44)) return null;
  const rawPageSize = isLittleEndianHost ? buf.readUInt16LE(14) : buf.readUInt16BE(14);
  return {
    change: u32(8),
    pageSize: rawPageSize === 1 ? 65536 : rawPageSize,
    mxFrame: u32(16),
    nPage: u32(20),
    frameChecksum: [u32(24), u32(28)],
    // The salts are copied from the WAL header: big-endian, like the file.
    salt1: buf.readUInt32BE(32),
    salt2: buf.readUInt32BE(36),
    nBackfill: u32(96),
  };
}

export function isValidPageSize(n: number): boolean {
  return n >= 512 && n <= 65536 && (n & (n - 1)) === 0;
}
