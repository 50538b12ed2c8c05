// Reads the replication chains the agent wrote on the backup volume, to measure them from outside:
// sizes, when each segment became durable, and every transaction's commit time. Written from the
// format documented in apps/backup-agent/src/replication/segment.codec.ts (not with the agent's
// code, so a change of format shows here as an error, not as a wrong number):
//   "PRASEG1\n" | chunks (u32 raw length, u32 stored length, raw deflate) ... | u32 0, u32 0 |
//   footer JSON | u32 footer length | sha256 (32 bytes)
// records: 'F' varint pgno, u8 encoding (0: page_size bytes, 1: patch: varint runs, then per run
// varint gap, varint length, bytes); 'C' varint µs since the previous commit, u8 flags, varint pages.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';

const MAGIC = 'PRASEG1\n';

/**
 * Every segment of every chain under BACKUP_DIR, in chain and sequence order:
 * { chain, seq, path, size, durableMs, footer }. `durableMs` is the file's ctime: set by the rename
 * that puts it in place, which the agent does after the segment's fsync (then it fsyncs the
 * directory, a fraction of a millisecond more).
 */
export function listSegments(backupDir) {
  const root = join(backupDir, 'chains');
  const out = [];
  let chains = [];
  try {
    chains = readdirSync(root)
      .filter((n) => n.startsWith('chain-'))
      .sort();
  } catch {
    return out;
  }
  for (const chain of chains) {
    for (const name of readdirSync(join(root, chain))
      .filter((n) => /^\d{10}\.seg$/.test(n))
      .sort()) {
      const path = join(root, chain, name);
      const st = statSync(path, { bigint: true });
      const bytes = readFileSync(path);
      out.push({
        chain,
        seq: Number(name.slice(0, 10)),
        path,
        size: bytes.length,
        durableMs: Number(st.ctimeNs / 1000n) / 1000,
        footer: footerOf(bytes),
      });
    }
  }
  return out;
}

export function footerOf(bytes) {
  if (bytes.toString('latin1', 0, 8) !== MAGIC) throw new Error('not a segment file');
  const end = bytes.length - 32;
  const length = bytes.readUInt32BE(end - 4);
  return JSON.parse(bytes.toString('utf8', end - 4 - length, end - 4));
}

/** The commit time (µs) of every transaction of a segment, in order. */
export function commitTimes(path) {
  const bytes = readFileSync(path);
  const { first_time_us: first, page_size: pageSize, tx_count: count } = footerOf(bytes);
  const times = [];
  let time = first;
  let at = 8;
  for (;;) {
    const rawLength = bytes.readUInt32BE(at);
    const storedLength = bytes.readUInt32BE(at + 4);
    at += 8;
    if (rawLength === 0 && storedLength === 0) break;
    const raw = inflateRawSync(bytes.subarray(at, at + storedLength));
    at += storedLength;
    let i = 0;
    const varint = () => {
      let value = 0;
      let scale = 1;
      for (;;) {
        const byte = raw[i++];
        value += (byte & 0x7f) * scale;
        if ((byte & 0x80) === 0) return value;
        scale *= 128;
      }
    };
    while (i < raw.length) {
      const kind = raw[i++];
      if (kind === 0x46) {
        varint(); // page number
        if (raw[i++] === 0) {
          i += pageSize;
        } else {
          for (let runs = varint(); runs > 0; runs--) {
            varint(); // gap since the previous run
            const length = varint();
            i += length;
          }
        }
      } else if (kind === 0x43) {
        time += varint();
        i++; // flags
        varint(); // database pages
        times.push(time);
      } else {
        throw new Error(`${path}: unknown record ${kind}`);
      }
    }
  }
  if (times.length !== count) throw new Error(`${path}: ${times.length} commits, the footer says ${count}`);
  return times;
}
