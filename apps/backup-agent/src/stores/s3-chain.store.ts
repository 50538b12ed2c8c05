import { createHash } from 'node:crypto';
import { BackupConflictError, BackupCorruptError, ChainCorruptError } from '../core/errors';
import {
  ChainId,
  ChainManifest,
  ChainStore,
  parseChainManifest,
  SegmentSummary,
  StoredSegment,
} from '../replication/chain.store';
import { segmentName } from '../replication/local-chain.store';
import { openSegment } from '../replication/segment.codec';
import { ENCRYPTION_ALGORITHM } from './offsite.cipher';
import { S3Bucket } from './s3.bucket';

/**
 * Replication chains in the bucket, beside the backups, the same contract as on the volume
 * (chain.store.ts):
 *
 *   <prefix>chains/<chain>/chain.json      what the chain is, and how it ended (clear JSON)
 *   <prefix>chains/<chain>/<seq>_<first tx>-<last tx>_<first time>-<last time>.seg
 *                                          its segments, immutable; AES-256-GCM when a key is set
 *
 * A segment's name says which transactions it holds and when they committed (µs), so one listing
 * gives every range without downloading a segment; a restore still checks each segment it reads
 * against the name it was listed under.
 *
 * Each segment object carries the sha256 of its plaintext as metadata (the segment's own trailer),
 * so a put is idempotent (the same segment again is a no-op) and never replaces another one
 * (BackupConflictError). A read decrypts, authenticates and checks the segment: a modified object
 * is a ChainCorruptError naming it, a wrong key an EncryptionKeyError.
 */
export class S3ChainStore implements ChainStore {
  readonly kind = 's3' as const;
  readonly location: string;
  private readonly chainsPrefix: string;
  /** Segment keys by `<chain>/<seq>`, from the listings and the puts. */
  private readonly keys = new Map<string, { key: string; summary: SegmentSummary }>();

  constructor(private readonly bucket: S3Bucket) {
    this.chainsPrefix = `${bucket.prefix}chains/`;
    this.location = `${bucket.location}chains/`;
  }

  async listChains(): Promise<ChainManifest[]> {
    const { prefixes } = await this.bucket.list(this.chainsPrefix, '/');
    const chains: ChainManifest[] = [];
    for (const p of prefixes) {
      const id = p.slice(this.chainsPrefix.length).replace(/\/$/, '');
      if (!ChainId.isValid(id)) continue;
      const manifest = await this.readChain(id);
      if (manifest) chains.push(manifest);
    }
    return chains.sort((a, b) => ChainId.compare(a.id, b.id));
  }

  async putChain(manifest: ChainManifest): Promise<void> {
    const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
    await this.bucket.put(this.chainKey(manifest.id), body, { chain: manifest.id });
  }

  async listSegments(chain: string): Promise<StoredSegment[]> {
    const dir = `${this.chainsPrefix}${ChainId.normalize(chain)}/`;
    const { objects } = await this.bucket.list(dir);
    const segments: StoredSegment[] = [];
    for (const o of objects) {
      const summary = parseSegmentName(chain, o.key.slice(dir.length));
      if (!summary) continue;
      this.keys.set(`${chain}/${summary.seq}`, { key: o.key, summary });
      segments.push({ chain, seq: summary.seq, size: o.size });
    }
    return segments.sort((a, b) => a.seq - b.seq);
  }

  async putSegment(chain: string, seq: number, bytes: Buffer): Promise<void> {
    const { footer } = openSegment(bytes);
    if (footer.chain !== chain || footer.seq !== seq) {
      throw new ChainCorruptError(
        `the bytes given as segment ${seq} of ${chain} are segment ${footer.seq} of ${footer.chain}`,
      );
    }
    const key = `${this.chainDir(chain)}${segmentObjectName(footer)}`;
    const sha256 = bytes.subarray(bytes.length - 32).toString('hex');
    const existing = await this.bucket.head(key);
    if (existing) {
      if (existing.Metadata?.['sha256'] === sha256) return; // already there: uploads are idempotent
      throw new BackupConflictError(
        `${chain}/${seq}`,
        `${this.location}${chain}/ already holds another segment ${seq}`,
      );
    }
    const body = await this.bucket.seal(this.objectId(chain, seq), bytes);
    const written = await this.bucket.put(
      key,
      body,
      {
        chain,
        seq: String(seq),
        sha256,
        size: String(bytes.length),
        encryption: this.bucket.cipher ? ENCRYPTION_ALGORITHM : 'none',
        ...(this.bucket.cipher ? { 'key-id': this.bucket.cipher.keyId } : {}),
      },
      true,
    );
    if (written === 'exists') {
      const now = await this.bucket.head(key);
      if (now?.Metadata?.['sha256'] !== sha256) {
        throw new BackupConflictError(
          `${chain}/${seq}`,
          `${this.location}${chain}/${seq} was written by someone else meanwhile`,
        );
      }
    }
    this.keys.set(`${chain}/${seq}`, { key, summary: summaryOf(footer) });
  }

  async readSegment(chain: string, seq: number): Promise<Buffer> {
    const name = `segment ${seq} of ${chain} in ${this.location}`;
    const listed = await this.listed(chain, seq);
    const object = listed ? await this.bucket.get(listed.key) : null;
    if (!listed || !object) throw new ChainCorruptError(`${name} is missing`);
    let bytes: Buffer;
    try {
      bytes = await this.bucket.open(this.objectId(chain, seq), object.bytes);
    } catch (err) {
      if (err instanceof BackupCorruptError)
        throw new ChainCorruptError(`${name} was modified: ${err.reason}`);
      throw err; // EncryptionKeyError: the configuration, not the segment
    }
    const sha256 = createHash('sha256')
      .update(bytes.subarray(0, bytes.length - 32))
      .digest('hex');
    if (object.metadata['sha256'] && object.metadata['sha256'] !== sha256) {
      throw new ChainCorruptError(`${name} does not match the sha256 it was stored with`);
    }
    let footer: SegmentSummary;
    try {
      footer = openSegment(bytes).footer;
    } catch (err) {
      throw new ChainCorruptError(`${name} is unreadable: ${(err as Error).message}`);
    }
    const expected = listed.summary;
    if (JSON.stringify(summaryOf(footer)) !== JSON.stringify(expected)) {
      throw new ChainCorruptError(`${name} does not hold what its name says (${listed.key})`);
    }
    return bytes;
  }

  /** From the name the segment was listed under: no download. */
  async segmentSummary(chain: string, seq: number): Promise<SegmentSummary> {
    const listed = await this.listed(chain, seq);
    if (!listed) throw new ChainCorruptError(`segment ${seq} of ${chain} in ${this.location} is missing`);
    return listed.summary;
  }

  async removeSegment(chain: string, seq: number): Promise<void> {
    const listed = await this.listed(chain, seq);
    if (listed) await this.bucket.delete(listed.key);
    this.keys.delete(`${chain}/${seq}`);
  }

  async removeChain(chain: string): Promise<void> {
    // chain.json first: from then on the chain is no longer listed, whatever happens next.
    await this.bucket.delete(this.chainKey(chain));
    for (const s of await this.listSegments(chain)) await this.removeSegment(chain, s.seq);
  }

  private async readChain(id: string): Promise<ChainManifest | null> {
    const object = await this.bucket.get(this.chainKey(id));
    if (!object) return null;
    try {
      const manifest = parseChainManifest(JSON.parse(object.bytes.toString('utf8')));
      return manifest?.id === id ? manifest : null;
    } catch {
      return null;
    }
  }

  private chainKey(chain: string): string {
    return `${this.chainsPrefix}${ChainId.normalize(chain)}/chain.json`;
  }

  private chainDir(chain: string): string {
    return `${this.chainsPrefix}${ChainId.normalize(chain)}/`;
  }

  /** The key a segment was listed or written under (the chain is listed again if it is not known). */
  private async listed(chain: string, seq: number): Promise<{ key: string; summary: SegmentSummary } | null> {
    const known = this.keys.get(`${chain}/${seq}`);
    if (known) return known;
    await this.listSegments(chain);
    return this.keys.get(`${chain}/${seq}`) ?? null;
  }

  /** What an encrypted segment is bound to (authenticated with it): it cannot pass for another. */
  private objectId(chain: string, seq: number): string {
    return `${chain}/${segmentName(seq)}`;
  }
}

/** `0000000042_1200-1230_1796040000000000-1796040000900000.seg` */
export function segmentObjectName(f: SegmentSummary): string {
  return `${segmentName(f.seq).replace(/\.seg$/, '')}_${f.first_tx}-${f.last_tx}_${f.first_time_us}-${f.last_time_us}.seg`;
}

function parseSegmentName(chain: string, name: string): SegmentSummary | null {
  const m = /^(\d{10})_(\d+)-(\d+)_(\d+)-(\d+)\.seg$/.exec(name);
  if (!m) return null;
  const [seq, firstTx, lastTx, firstUs, lastUs] = m.slice(1).map(Number);
  if (![seq, firstTx, lastTx, firstUs, lastUs].every(Number.isSafeInteger) || lastTx < firstTx) return null;
  return summaryOf({
    chain,
    seq,
    first_tx: firstTx,
    last_tx: lastTx,
    tx_count: 0, // computed by summaryOf
    first_time_us: firstUs,
    last_time_us: lastUs,
  });
}

function summaryOf(f: SegmentSummary): SegmentSummary {
  return {
    chain: f.chain,
    seq: f.seq,
    first_tx: f.first_tx,
    last_tx: f.last_tx,
    tx_count: f.last_tx - f.first_tx + 1,
    first_time_us: f.first_time_us,
    last_time_us: f.last_time_us,
  };
}
