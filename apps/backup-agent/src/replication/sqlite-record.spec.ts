import Database from 'better-sqlite3';
import { closeSync, openSync, readSync } from 'node:fs';
import { join } from 'node:path';
import { COMMIT_CLOCK_ROW, migrate, STAMP_COMMIT_SQL } from '@pra-kit/shared';
import { makeTempDir } from '@pra-kit/shared/testing';
import { decodeRecord, leafRecords, readVarint, rootPageOf, usableSizeOf } from './sqlite-record';

function readPage(path: string, pgno: number, pageSize = 4096): Buffer {
  const fd = openSync(path, 'r');
  try {
    const page = Buffer.alloc(pageSize);
    readSync(fd, page, 0, pageSize, (pgno - 1) * pageSize);
    return page;
  } finally {
    closeSync(fd);
  }
}

describe('SQLite records', () => {
  const tmp = makeTempDir('record');
  afterAll(() => tmp.remove());

  it('reads varints of 1, 2 and 9 bytes', () => {
    expect(readVarint(Buffer.from([0x7f]), 0)).toEqual([127, 1]);
    expect(readVarint(Buffer.from([0x81, 0x00]), 0)).toEqual([128, 2]);
    expect(readVarint(Buffer.from([0x82, 0x80, 0x01]), 0)).toEqual([32769, 3]);
    expect(readVarint(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x05]), 0)).toEqual([
      5, 9,
    ]);
    expect(() => readVarint(Buffer.from([0x81]), 0)).toThrow(RangeError);
  });

  it('decodes a record of every value kind', () => {
    // header size 6; types: NULL, int8 (-3), int64, text "hi" (13+2*2=17), 0 (type 8), 1 (type 9)
    const int64 = Buffer.alloc(8);
    int64.writeBigInt64BE(1_795_000_000_123_456n);
    const record = Buffer.concat([
      Buffer.from([7, 0, 1, 6, 17, 8, 9]),
      Buffer.from([0xfd]),
      int64,
      Buffer.from('hi'),
    ]);
    expect(decodeRecord(record)).toEqual([null, -3, 1_795_000_000_123_456, 'hi', 0, 1]);
  });

  it('finds the counters table from page 1 and reads the commit clock from its page', () => {
    const path = join(tmp.path, 'clock.db');
    const db = new Database(path);
    migrate(db);
    db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)').run('t', 'one');
    db.prepare(STAMP_COMMIT_SQL).run(1_795_000_000_654_321);
    const root = (
      db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'counters'`).get() as { rootpage: number }
    ).rootpage;
    db.close();
    const pageOne = readPage(path, 1);
    const usable = usableSizeOf(pageOne);
    expect(usable).toBe(4096);
    expect(rootPageOf(pageOne, 'counters', usable)).toBe(root);
    expect(rootPageOf(pageOne, 'no_such_table', usable)).toBeNull();
    const rows = leafRecords(readPage(path, root), root, usable);
    expect(rows).toEqual(
      expect.arrayContaining([
        [COMMIT_CLOCK_ROW, 1_795_000_000_654_321],
        ['events', 1],
      ]),
    );
  });

  it('gives null for a page that is not a leaf, or a row that spills to an overflow page', () => {
    const path = join(tmp.path, 'big.db');
    const db = new Database(path);
    db.exec('CREATE TABLE big (v TEXT)');
    db.prepare('INSERT INTO big VALUES (?)').run('z'.repeat(10_000));
    const root = (
      db.prepare(`SELECT rootpage FROM sqlite_master WHERE name = 'big'`).get() as { rootpage: number }
    ).rootpage;
    db.close();
    expect(leafRecords(readPage(path, root), root, 4096)).toBeNull();
    expect(leafRecords(Buffer.alloc(4096), 5, 4096)).toBeNull();
  });
});
