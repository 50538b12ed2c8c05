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
