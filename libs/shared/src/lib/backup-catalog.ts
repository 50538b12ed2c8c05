import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compareBackupIds, parseBackupId } from './backup-id';
import { BackupManifest, MANIFEST_SUFFIX, parseManifestText } from './backup-manifest';

/**
 * Read-only view of a backup directory, shared by the API (`/status`) and the agent's catalog.
 *
 * A backup is listed when its `.db` file exists. When its manifest is there too and agrees on the
 * size, the entry carries it; otherwise the entry is "unverified" (a file copied by hand or by the
 * workshop's CronJob) and says so. Temp files (`*.tmp`) and stray names are never listed.
 */
export interface CatalogEntry {
  readonly id: string;
  readonly file: string;
  readonly size: number;
  /** From the manifest when present, else from the timestamp in the name. */
  readonly createdAt: Date;
  readonly manifest: BackupManifest | null;
  /** Why the manifest is missing or was rejected, when it is. */
  readonly manifestProblem?: string;
}

/** Entries newest first. A missing directory is an empty catalog. */
export function readCatalogDir(dir: string): CatalogEntry[] {
  return newestEntries(dir, Infinity);
}

/** The newest backup, reading only its own manifest (`/status` calls this on every request). */
export function latestBackup(dir: string): CatalogEntry | null {
  return newestEntries(dir, 1)[0] ?? null;
}

/** The `limit` newest entries: names are sorted first, so only those entries' files are read. */
function newestEntries(dir: string, limit: number): CatalogEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const present = new Set(names);
  const backups = names
    .flatMap((name) => {
      const parsed = name.endsWith('.db') ? parseBackupId(name) : null;
      return parsed && `${parsed.id}.db` === name ? [{ name, id: parsed.id, seconds: parsed.seconds }] : [];
    })
    .sort((a, b) => compareBackupIds(b.id, a.id));
  const entries: CatalogEntry[] = [];
  for (const { name, id, seconds } of backups) {
    if (entries.length >= limit) break;
    let size: number;
    try {
      const st = statSync(join(dir, name));
      if (!st.isFile()) continue;
      size = st.size;
    } catch {
      continue; // pruned between readdir and stat
    }
    entries.push(withManifest(dir, id, name, size, seconds, present));
  }
  return entries;
}

function withManifest(
  dir: string,
  id: string,
  file: string,
  size: number,
  seconds: number,
  present: Set<string>,
): CatalogEntry {
  const fallback = { id, file, size, createdAt: new Date(seconds * 1000), manifest: null };
  const manifestName = `${id}${MANIFEST_SUFFIX}`;
  if (!present.has(manifestName)) return { ...fallback, manifestProblem: 'no manifest' };
  let manifest: BackupManifest | null;
  try {
    manifest = parseManifestText(readFileSync(join(dir, manifestName), 'utf8'));
  } catch {
    manifest = null; // removed since the listing
  }
  if (!manifest || manifest.id !== id) return { ...fallback, manifestProblem: 'manifest unreadable' };
  if (manifest.size !== size) {
    return { ...fallback, manifestProblem: `size ${size} differs from manifest (${manifest.size})` };
  }
  return { id, file, size, createdAt: new Date(manifest.created_at), manifest };
}
