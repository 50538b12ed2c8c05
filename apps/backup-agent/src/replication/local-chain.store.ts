import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, writeFileDurable } from '../infra/durable-fs';
import {
  ChainId,
  ChainManifest,
  ChainStore,
  parseChainManifest,
  StoredSegment,
  SegmentSummary,
} from './chain.store';
import { SegmentFooter } from './segment.codec';

/**
 * Chains on the backup volume:
 *
 *   BACKUP_DIR/chains/<chain>/chain.json          what the chain is, and how it ended
 *   BACKUP_DIR/chains/<chain>/<seq:010>.seg       its segments, immutable
 *
 * Every file is written to a temp name, fsynced, renamed and its directory fsynced: a listed
 * segment is always whole. Chain ids are checked before any path is built from them.
 */
export class LocalChainStore implements ChainStore {
  readonly kind = 'local' as const;
  readonly dir: string;

  constructor(backupDir: string) {
    this.dir = join(backupDir, 'chains');
  }

  get location(): string {
    return this.dir;
  }

  async listChains(): Promise<ChainManifest[]> {
    const names = await readdir(this.dir).catch(() => [] as string[]);
    const chains: ChainManifest[] = [];
    for (const name of names.filter((n) => ChainId.isValid(n))) {
      const manifest = await readFile(join(this.dir, name, 'chain.json'), 'utf8')
        .then((t) => parseChainManifest(JSON.parse(t)))
        .catch(() => null);
      if (manifest?.id === name) chains.push(manifest);
    }
    return chains.sort((a, b) => ChainId.compare(a.id, b.id));
  }

  async putChain(manifest: ChainManifest): Promise<void> {
    const dir = this.chainDir(manifest.id);
    await mkdir(dir, { recursive: true });
    await writeFileDurable(join(dir, 'chain.json'), `${JSON.stringify(manifest, null, 2)}\n`);
    await fsyncDir(this.dir);
  }

  async listSegments(chain: string): Promise<StoredSegment[]> {
    const dir = this.chainDir(chain);
    const names = await readdir(dir).catch(() => [] as string[]);
    const segments: StoredSegment[] = [];
    for (const name of names) {
      const seq = segmentSeq(name);
      if (seq === null) continue;
      const size = await stat(join(dir, name)).then(
        (s) => s.size,
        () => null,
      );
      if (size !== null) segments.push({ chain, seq, size });
    }
    return segments.sort((a, b) => a.seq - b.seq);
  }

  async putSegment(chain: string, seq: number, bytes: Buffer): Promise<void> {
    await writeFileDurable(join(this.chainDir(chain), segmentName(seq)), bytes);
  }

  async readSegment(chain: string, seq: number): Promise<Buffer> {
    return readFile(join(this.chainDir(chain), segmentName(seq)));
  }

  segmentSummary(chain: string, seq: number): Promise<SegmentSummary> {
    return this.segmentFooter(chain, seq);
  }

  /** The footer alone, from the end of the file (listing a chain reads no page data). */
  async segmentFooter(chain: string, seq: number): Promise<SegmentFooter> {
    const fd = openSync(join(this.chainDir(chain), segmentName(seq)), 'r');
    try {
      const size = fstatSync(fd).size;
      const tailLength = Math.min(size, 64 * 1024);
      const tail = Buffer.alloc(tailLength);
      readSync(fd, tail, 0, tailLength, size - tailLength);
      return footerFromTail(tail);
    } finally {
      closeSync(fd);
    }
  }

  async removeSegment(chain: string, seq: number): Promise<void> {
    await rm(join(this.chainDir(chain), segmentName(seq)), { force: true });
  }

  async removeChain(chain: string): Promise<void> {
    await rm(this.chainDir(chain), { recursive: true, force: true });
    await fsyncDir(this.dir).catch(() => undefined);
  }

  /** Removes the temp files a killed writer left in the chains (never listed, but they take room). */
  async cleanLeftovers(): Promise<string[]> {
    const removed: string[] = [];
    for (const chain of await readdir(this.dir).catch(() => [] as string[])) {
      if (!ChainId.isValid(chain)) continue;
      for (const name of await readdir(join(this.dir, chain)).catch(() => [] as string[])) {
        if (name.startsWith('.') && name.endsWith('.tmp')) {
          await rm(join(this.dir, chain, name), { force: true });
          removed.push(`${chain}/${name}`);
        }
      }
    }
    return removed;
  }

  /** Bytes of every chain's files. */
  async bytes(): Promise<number> {
    let total = 0;
    for (const chain of await this.listChains()) {
      for (const s of await this.listSegments(chain.id)) total += s.size;
    }
    return total;
  }

  private chainDir(chain: string): string {
    return join(this.dir, ChainId.normalize(chain));
  }
}

export function segmentName(seq: number): string {
  if (!Number.isSafeInteger(seq) || seq < 1 || seq > 9_999_999_999) throw new RangeError(`segment ${seq}`);
  return `${String(seq).padStart(10, '0')}.seg`;
}

function segmentSeq(name: string): number | null {
  const m = /^(\d{10})\.seg$/.exec(name);
  return m ? Number(m[1]) : null;
}

/** Reads the footer JSON from the last bytes of a segment file (see segment.codec.ts). */
export function footerFromTail(tail: Buffer): SegmentFooter {
  const end = tail.length - 32;
  const length = tail.readUInt32BE(end - 4);
  if (length + 4 > end) throw new RangeError('segment footer larger than the tail read');
  return JSON.parse(tail.toString('utf8', end - 4 - length, end - 4)) as SegmentFooter;
}
