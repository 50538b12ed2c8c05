import {
  applyPatch,
  diffPage,
  openSegment,
  PageVersions,
  SegmentEncoder,
  SegmentFormatError,
  segmentRecords,
  WalPosition,
} from './segment.codec';

const PAGE = 4096;
const position: WalPosition = { salt1: 1, salt2: 2, checkpoint_seq: 0, frame: 10, checksum: [3, 4] };

/** A deterministic pseudo-random generator, so a failure can be replayed. */
function random(seed: number): () => number {
  let s = seed;
  return () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
}

function randomPage(rand: () => number): Buffer {
  const page = Buffer.alloc(PAGE);
  for (let i = 0; i < PAGE; i++) page[i] = Math.floor(rand() * 256);
  return page;
}

/** Changes a few byte ranges, like a row inserted into a leaf page. */
function edit(page: Buffer, rand: () => number): Buffer {
  const next = Buffer.from(page);
  const edits = 1 + Math.floor(rand() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * (PAGE - 200));
    const len = 1 + Math.floor(rand() * 150);
    for (let i = at; i < at + len; i++) next[i] = Math.floor(rand() * 256);
  }
  return next;
}

describe('segment codec', () => {
  it('patches: diff then apply gives the new page; a rewritten page is stored whole', () => {
    const rand = random(1);
    for (let k = 0; k < 50; k++) {
      const before = randomPage(rand);
      const after = edit(before, rand);
      const patch = diffPage(before, after);
      expect(patch).not.toBeNull();
      const rebuilt = Buffer.from(before);
      applyPatch(rebuilt, patch as Buffer);
      expect(rebuilt.equals(after)).toBe(true);
      expect((patch as Buffer).length).toBeLessThan(700);
    }
    expect(diffPage(randomPage(rand), randomPage(rand))).toBeNull();
  });

  it('round-trips frames and commits: the decoded pages and transactions are the ones written', () => {
    const rand = random(7);
    const encoder = new SegmentEncoder(PAGE, new PageVersions(8)); // a small cache: some pages fall out and go whole
    const truth = new Map<number, Buffer>();
    const expectedCommits: { tx: number; timeUs: number; stamped: boolean; dbPages: number }[] = [];
    const versions: { pgno: number; page: Buffer }[] = [];
    for (let tx = 101; tx <= 160; tx++) {
      const frames = 1 + Math.floor(rand() * 5);
      for (let f = 0; f < frames; f++) {
        const pgno = 1 + Math.floor(rand() * 20);
        const page =
          truth.has(pgno) && rand() < 0.8 ? edit(truth.get(pgno) as Buffer, rand) : randomPage(rand);
        truth.set(pgno, page);
        versions.push({ pgno, page });
        encoder.frame(pgno, page);
      }
      const commit = {
        tx,
        timeUs: 1_795_000_000_000_000 + tx * 1000,
        stamped: tx % 3 !== 0,
        dbPages: 20 + tx,
      };
      expectedCommits.push(commit);
      encoder.commit(commit.tx, commit.timeUs, commit.stamped, commit.dbPages);
    }
    const { bytes, footer, sha256 } = encoder.finish({
      chain: 'chain-1795000000000',
      seq: 3,
      prevSha256: 'ab'.repeat(32),
      walEnd: position,
      writtenAt: new Date(0),
    });
    expect(footer).toMatchObject({
      seq: 3,
      first_tx: 101,
      last_tx: 160,
      tx_count: 60,
      frames: versions.length,
      prev_sha256: 'ab'.repeat(32),
    });
    expect(footer.stamped_txs).toBe(expectedCommits.filter((c) => c.stamped).length);
    expect(openSegment(bytes).sha256).toBe(sha256);

    const image = new Map<number, Buffer>();
    const commits: unknown[] = [];
    let v = 0;
    for (const record of segmentRecords(bytes, PAGE)) {
      if (record.kind === 'commit') {
        commits.push({
          tx: record.tx,
          timeUs: record.timeUs,
          stamped: record.stamped,
          dbPages: record.dbPages,
        });
        continue;
      }
      const page = record.page ? Buffer.from(record.page) : Buffer.from(image.get(record.pgno) as Buffer);
      if (record.patch) applyPatch(page, record.patch);
      image.set(record.pgno, page);
      expect(record.pgno).toBe(versions[v].pgno);
      expect(page.equals(versions[v].page)).toBe(true);
      v++;
    }
    expect(v).toBe(versions.length);
    expect(commits).toEqual(expectedCommits);
  });

  it('refuses a segment with a changed byte, and a segment cut inside a transaction', () => {
    const encoder = new SegmentEncoder(PAGE);
    encoder.frame(2, Buffer.alloc(PAGE, 7));
    encoder.commit(1, 1_000_000, true, 2);
    const { bytes } = encoder.finish({
      chain: 'chain-1795000000000',
      seq: 1,
      prevSha256: null,
      walEnd: position,
      writtenAt: new Date(0),
    });
    const tampered = Buffer.from(bytes);
    tampered[20] ^= 0x40;
    expect(() => openSegment(tampered)).toThrow(SegmentFormatError);
    expect(() => openSegment(bytes.subarray(0, bytes.length - 1))).toThrow(SegmentFormatError);

    const open = new SegmentEncoder(PAGE);
    open.frame(2, Buffer.alloc(PAGE));
    expect(() =>
      open.finish({ chain: 'c', seq: 1, prevSha256: null, walEnd: position, writtenAt: new Date(0) }),
    ).toThrow(/inside a transaction/);
    const gap = new SegmentEncoder(PAGE);
    gap.commit(5, 1, false, 1);
    expect(() => gap.commit(7, 2, false, 1)).toThrow(/does not follow/);
  });

  it('keeps a segment small when transactions change a few bytes of the same pages', () => {
    const rand = random(3);
    const encoder = new SegmentEncoder(PAGE);
    let leaf = randomPage(rand);
    for (let tx = 1; tx <= 500; tx++) {
      leaf = edit(leaf, rand);
      encoder.frame(7, leaf);
      encoder.commit(tx, tx, true, 10);
    }
    const { bytes, footer } = encoder.finish({
      chain: 'c',
      seq: 1,
      prevSha256: null,
      walEnd: position,
      writtenAt: new Date(0),
    });
    expect(footer.wal_bytes).toBe(500 * PAGE);
    expect(bytes.length).toBeLessThan(footer.wal_bytes / 10);
  });
});
