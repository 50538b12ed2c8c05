/**
 * Just enough of SQLite's b-tree page format (https://sqlite.org/fileformat2.html, sections 1.6 and
 * 2.1) to read small rows from a leaf page: the schema rows on page 1 and the rows of a tiny table.
 * Used to read a transaction's commit time from the pages it wrote. Anything unexpected (another page
 * type, a row spilled to an overflow page) gives null, never a guess.
 */

export type SqlValue = null | number | string | Buffer;

const TABLE_LEAF = 0x0d;
const INDEX_LEAF = 0x0a;
/** Page 1 starts with the 100-byte database header; its b-tree header follows. */
const DB_HEADER_BYTES = 100;

/** A varint (1-9 bytes, big-endian, 7 bits per byte but all 8 in the ninth): [value, bytes read]. */
export function readVarint(buf: Buffer, offset: number): [number, number] {
  let value = 0;
  for (let i = 0; i < 8; i++) {
    const byte = buf[offset + i];
    if (byte === undefined) throw new RangeError('varint runs past the end of the page');
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return [value, i + 1];
  }
  const last = buf[offset + 8];
  if (last === undefined) throw new RangeError('varint runs past the end of the page');
  return [value * 256 + last, 9];
}

/** Decodes a record (header of serial types, then the values). Text is read as UTF-8. */
export function decodeRecord(payload: Buffer): SqlValue[] {
  const [headerSize, n] = readVarint(payload, 0);
  if (headerSize > payload.length) throw new RangeError('record header larger than the record');
  const types: number[] = [];
  for (let at = n; at < headerSize; ) {
    const [type, len] = readVarint(payload, at);
    types.push(type);
    at += len;
  }
  const values: SqlValue[] = [];
  let at = headerSize;
  for (const type of types) {
    const size = serialTypeSize(type);
    if (at + size > payload.length) throw new RangeError('record value past the end of the record');
    values.push(readValue(payload, at, type, size));
    at += size;
  }
  return values;
}

function serialTypeSize(type: number): number {
  if (type >= 12) return Math.floor((type - 12) / 2);
  return [0, 1, 2, 3, 4, 6, 8, 8, 0, 0][type] ?? NaN;
}

function readValue(buf: Buffer, at: number, type: number, size: number): SqlValue {
  if (type === 0) return null;
  if (type === 8) return 0;
  if (type === 9) return 1;
  if (type === 7) return buf.readDoubleBE(at);
  if (type >= 1 && type <= 6) {
    if (size === 8) {
      const big = buf.readBigInt64BE(at);
      const n = Number(big);
      if (!Number.isSafeInteger(n)) throw new RangeError('integer beyond 2^53');
      return n;
    }
    return buf.readIntBE(at, size);
  }
  if (type >= 12 && type % 2 === 0) return Buffer.from(buf.subarray(at, at + size));
  if (type >= 13) return buf.toString('utf8', at, at + size);
  throw new RangeError(`reserved serial type ${type}`);
}

/**
 * The records of a leaf page (table or index b-tree), in cell order, or null when the page is not a
 * leaf or a record does not fit on it (an overflow chain we do not follow). `usableSize` is the page
 * size minus the reserved bytes at the end of each page (byte 20 of the database header, usually 0).
 */
export function leafRecords(page: Buffer, pgno: number, usableSize: number): SqlValue[][] | null {
  try {
    const start = pgno === 1 ? DB_HEADER_BYTES : 0;
    const kind = page[start];
    if (kind !== TABLE_LEAF && kind !== INDEX_LEAF) return null;
    const cells = page.readUInt16BE(start + 3);
    // Largest payload stored on the page itself (fileformat2, "Cell Payload Overflow Pages").
    const maxLocal = kind === TABLE_LEAF ? usableSize - 35 : Math.floor(((usableSize - 12) * 64) / 255) - 23;
    const records: SqlValue[][] = [];
    for (let i = 0; i < cells; i++) {
      let at = page.readUInt16BE(start + 8 + 2 * i);
      const [payloadSize, n] = readVarint(page, at);
      at += n;
      if (kind === TABLE_LEAF) at += readVarint(page, at)[1]; // the rowid
      if (payloadSize > maxLocal || at + payloadSize > usableSize) return null;
      records.push(decodeRecord(page.subarray(at, at + payloadSize)));
    }
    return records;
  } catch {
    return null;
  }
}

/** Root page of a table, read from page 1 (the schema table's root), or null when not found there. */
export function rootPageOf(pageOne: Buffer, table: string, usableSize: number): number | null {
  const rows = leafRecords(pageOne, 1, usableSize);
  const row = rows?.find((r) => r[0] === 'table' && r[1] === table);
  return row && typeof row[3] === 'number' && row[3] > 0 ? row[3] : null;
}

/** Usable bytes per page: page size minus the reserved space named in byte 20 of page 1. */
export function usableSizeOf(pageOne: Buffer): number {
  const pageSize = pageOne.readUInt16BE(16) === 1 ? 65536 : pageOne.readUInt16BE(16);
  return pageSize - pageOne[20];
}
