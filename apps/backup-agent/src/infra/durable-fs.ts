import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * File operations that survive a crash or power loss at any point: data is fsynced before it is
 * renamed into place, and the directory is fsynced after, so a name never points at partial data.
 */

export function fsyncFile(path: string): Promise<void> {
  return fsyncPath(path, 'r+');
}

/** A directory is fsynced through a read-only handle (it cannot be opened for writing). */
export function fsyncDir(dir: string): Promise<void> {
  return fsyncPath(dir, 'r');
}

async function fsyncPath(path: string, flags: 'r' | 'r+'): Promise<void> {
  const handle = await open(path, flags);
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** rename + fsync of the directory: the new name is durable when this resolves. */
export async function renameDurable(from: string, to: string): Promise<void> {
  await rename(from, to);
  await fsyncDir(dirname(to));
}

/** Writes `data` to `path` atomically: `<path>.tmp`, fsync, rename, fsync dir. */
export async function writeFileDurable(path: string, data: string | Buffer): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.tmp`);
  try {
    await writeFile(tmp, data);
    await fsyncFile(tmp);
    await renameDurable(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/**
 * Bytes freed per step by {@link removeGently}: small enough that the other writers' fsyncs are not
 * held behind the freeing (measured: bench/README.md, "Measured choices").
 */
const GENTLE_REMOVE_STEP_BYTES = 256 * 1024;

/**
 * Deletes a large file without stalling the other writers of the disk: it is shrunk a step at a
 * time (ftruncate + fdatasync) before it is unlinked. Freeing a 77 MB file at once makes one
 * journal commit free (and, on a filesystem mounted with `discard`, TRIM) every block together,
 * and every fsync of the disk waits behind it: the API's commits among them. RocksDB's
 * DeleteScheduler deletes its files by chunks for the same reason.
 *
 * The caller first renames the file out of every listing; this only reclaims the space. A missing
 * file is not an error. Returns the number of steps before the unlink.
 */
export async function removeGently(path: string, stepBytes = GENTLE_REMOVE_STEP_BYTES): Promise<number> {
  let handle;
  try {
    handle = await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw err;
  }
  let steps = 0;
  try {
    let size = (await handle.stat()).size;
    while (size > stepBytes) {
      size -= stepBytes;
      await handle.truncate(size);
      await handle.datasync();
      steps++;
    }
  } finally {
    await handle.close();
  }
  await rm(path, { force: true });
  return steps;
}

/** Streams the file through sha256 (constant memory, whatever the size). */
export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    createReadStream(path, { highWaterMark: 1024 * 1024 })
      .on('data', (chunk) => hash.update(chunk))
      .on('error', reject)
      .on('end', () => resolve(hash.digest('hex')));
  });
}
