import Database from 'better-sqlite3';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from '@pra-kit/shared/testing';
import {
  checkFrame,
  frameOffset,
  parseFrameHeader,
  parseWalHeader,
  parseWalIndexHeader,
  WAL_INDEX_HEADER_BYTES,
  walChecksum,
} from './wal-format';

/** A WAL database with `rows` single-row transactions, and its WAL and WAL index read back. */
let databases = 0;
function walDatabase(dir: string, rows: number) {
  const path = join(dir, `w${++databases}.db`);
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (x TEXT)');
  const insert = db.prepare('INSERT INTO t VALUES (?)');
  for (let i = 0; i < rows; i++) insert.run(`row-${i}-${'y'.repeat(i * 7)}`);
  const read = () => ({
    wal: readFileSync(`${path}-wal`),
    index: parseWalIndexHeader(readFileSync(`${path}-shm`).subarray(0, WAL_INDEX_HEADER_BYTES)),
  });
  return { db, path, read };
}

describe('WAL format', () => {
  const tmp = makeTempDir('walfmt');
  afterAll(() => tmp.remove());

  it('validates every committed frame, and the checksum chain ends where the WAL index says', () => {
    const { db, read } = walDatabase(tmp.path, 40);
    const { wal, index } = read();
    const header = parseWalHeader(wal);
    expect(header).not.toBeNull();
    expect(index).not.toBeNull();
    if (!header || !index) return;
    expect(header.pageSize).toBe(4096);
    expect([index.salt1, index.salt2]).toEqual([header.salt1, header.salt2]);
    let sum = header.checksum;
    let commits = 0;
    for (let n = 1; n <= index.mxFrame; n++) {
      const next = checkFrame(wal, frameOffset(n, header.pageSize), header.pageSize, header, sum);
      expect(next).not.toBeNull();
      sum = next ?? sum;
      if (parseFrameHeader(wal, frameOffset(n, header.pageSize)).commitSize > 0) commits++;
    }
    expect(commits).toBe(41); // CREATE TABLE + 40 inserts, one transaction each
    expect(sum).toEqual(index.frameChecksum);
    db.close();
  });

  it('refuses a frame whose page changed, or a frame of another generation', () => {
    const { db, read } = walDatabase(tmp.path, 3);
    const { wal } = read();
    const header = parseWalHeader(wal);
    if (!header) throw new Error('no WAL header');
    const tampered = Buffer.from(wal);
    tampered[frameOffset(2, header.pageSize) + 24 + 100] ^= 0x01;
    const first = checkFrame(
      tampered,
      frameOffset(1, header.pageSize),
      header.pageSize,
      header,
      header.checksum,
    );
    expect(first).not.toBeNull();
    expect(
      checkFrame(tampered, frameOffset(2, header.pageSize), header.pageSize, header, first ?? [0, 0]),
    ).toBeNull();
    const otherGeneration = { ...header, salt1: (header.salt1 + 1) >>> 0 };
    expect(
      checkFrame(wal, frameOffset(1, header.pageSize), header.pageSize, otherGeneration, header.checksum),
    ).toBeNull();
    db.close();
  });

  it('sees a WAL restart as the next generation: salt-1 and the checkpoint sequence go up by one', () => {
    const { db, read } = walDatabase(tmp.path, 5);
    const before = parseWalHeader(read().wal);
    db.pragma('wal_checkpoint(RESTART)');
    db.prepare('INSERT INTO t VALUES (?)').run('after');
    const { wal, index } = read();
    const after = parseWalHeader(wal);
    expect(after?.salt1).toBe(((before?.salt1 ?? 0) + 1) >>> 0);
    expect(after?.checkpointSeq).toBe((before?.checkpointSeq ?? 0) + 1);
    expect(index?.salt1).toBe(after?.salt1);
    if (!after || !index) throw new Error('no WAL after the restart');
    // The new generation's frames chain from the new header, from frame 1.
    let sum = after.checksum;
    for (let n = 1; n <= index.mxFrame; n++) {
      sum = checkFrame(wal, frameOffset(n, after.pageSize), after.pageSize, after, sum) ?? [0, 0];
    }
    expect(index.mxFrame).toBeGreaterThan(0);
    expect(sum).toEqual(index.frameChecksum);
    db.close();
  });

  it('reads the WAL index only when both header copies agree', () => {
    const { db, path } = walDatabase(tmp.path, 2);
    const shm = readFileSync(`${path}-shm`).subarray(0, WAL_INDEX_HEADER_BYTES);
    expect(parseWalIndexHeader(shm)?.mxFrame).toBeGreaterThan(0);
    const torn = Buffer.from(shm);
    torn[16] ^= 0xff; // mxFrame of the first copy, as a writer in the middle of an update leaves it
    expect(parseWalIndexHeader(torn)).toBeNull();
    expect(parseWalHeader(Buffer.alloc(32))).toBeNull();
    db.close();
  });

  it('computes the checksum the same way on aligned and unaligned buffers', () => {
    const data = Buffer.alloc(4096 + 8);
    for (let i = 0; i < data.length; i++) data[i] = (i * 31) & 0xff;
    const aligned = walChecksum(data, 0, 4096, false, [1, 2]);
    const shifted = Buffer.alloc(4096 + 1);
    data.copy(shifted, 1, 0, 4096);
    expect(walChecksum(shifted, 1, 4096, false, [1, 2])).toEqual(aligned);
    expect(walChecksum(data, 0, 4096, true, [1, 2])).not.toEqual(aligned);
  });
});
