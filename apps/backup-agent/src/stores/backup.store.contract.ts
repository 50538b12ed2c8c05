import { BackupManifest } from '@pra-kit/shared';
import { makeTempDir, seedEventsDb } from '@pra-kit/shared/testing';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBackupAgent } from '../agent.factory';
import { BackupStore } from '../core/backup.store';
import { sha256File } from '../infra/durable-fs';
import { BackupConflictError, BackupCorruptError, BackupNotFoundError } from '../core/errors';
import { silentLogger } from '../core/ports';

/** What a store's spec gives the contract. */
export interface StoreFixture {
  /** A fresh, empty, prepared store. */
  readonly store: BackupStore;
  /**
   * Leaves in the store what a `put` cut short (a killed agent, a lost connection) leaves behind,
   * e.g. a temp file, or the data object without its manifest.
   */
  interruptPut(manifest: BackupManifest, sourceFile: string): Promise<void>;
  cleanup(): Promise<void>;
}

export interface SourceBackup {
  readonly manifest: BackupManifest;
  readonly file: string;
}

/**
 * Real backups for store tests: a database in `dir` grows by `rows` events before each backup; the
 * clock moves `afterSeconds` before it (0: the same second as the previous one).
 */
export async function takeBackups(
  dir: string,
  steps: readonly { rows: number; afterSeconds?: number; prefix?: string }[],
): Promise<SourceBackup[]> {
  const dbPath = join(dir, 'data', 'app.db');
  let now = Date.UTC(2026, 10, 22, 8, 0, 0);
  const agent = buildBackupAgent(
    {
      dbPath,
      backupDir: join(dir, 'backup'),
      verify: 'quick',
      retention: { keepLast: 1000, hourly: 0, daily: 0, weekly: 0 },
      offsite: null,
    },
    { clock: { now: () => new Date(now) }, logger: silentLogger },
  );
  const taken: SourceBackup[] = [];
  for (const step of steps) {
    now += (step.afterSeconds ?? 0) * 1000;
    seedEventsDb(dbPath, step.rows, step.prefix);
    const manifest = await agent.backup('scheduled');
    taken.push({ manifest, file: agent.local.pathOf(manifest.id) });
  }
  return taken;
}

/**
 * The BackupStore contract, run unchanged against every implementation (local-dir.store.spec.ts,
 * s3.store.spec.ts). The backups are real: taken by the agent from a real SQLite database.
 */
export function backupStoreContract(name: string, makeFixture: () => Promise<StoreFixture>): void {
  describe(`BackupStore contract: ${name}`, () => {
    let source: ReturnType<typeof makeTempDir>;
    let a: SourceBackup; // the oldest
    let b: SourceBackup; // a minute later
    let c: SourceBackup; // the same second as b: app-<ts>-2
    let big: SourceBackup; // a few MB
    let fx: StoreFixture;
    let out: ReturnType<typeof makeTempDir>;

    beforeAll(async () => {
      source = makeTempDir('contract-src');
      [a, b, c, big] = await takeBackups(source.path, [
        { rows: 10 },
        { rows: 10, afterSeconds: 60 },
        { rows: 10 }, // same second
        { rows: 100_000, afterSeconds: 60, prefix: 'big' },
      ]);
    });
    afterAll(() => source.remove());

    beforeEach(async () => {
      fx = await makeFixture();
      out = makeTempDir('contract-out');
    });
    afterEach(async () => {
      await fx.cleanup();
      out.remove();
    });

    /** Fetches into a new file and returns its path. */
    const fetchTo = async (id: string) => {
      const dest = join(out.path, `${id}.fetched`);
      const manifest = await fx.store.fetch(id, dest);
      return { manifest, dest };
    };

    it('an empty store lists nothing; stat is null; fetch of a missing id is BackupNotFoundError', async () => {
      expect(await fx.store.list()).toEqual([]);
      expect(await fx.store.stat('app-1795000000')).toBeNull();
      const dest = join(out.path, 'missing');
      await expect(fx.store.fetch('app-1795000000', dest)).rejects.toBeInstanceOf(BackupNotFoundError);
      expect(existsSync(dest)).toBe(false);
    });

    it('put, then list, stat and fetch give back the same manifest and the same bytes', async () => {
      await fx.store.put(a.manifest, a.file);
      const listed = await fx.store.list();
      expect(listed).toEqual([
        {
          id: a.manifest.id,
          size: a.manifest.size,
          createdAt: new Date(a.manifest.created_at),
          manifest: a.manifest,
        },
      ]);
      expect(await fx.store.stat(`${a.manifest.id}.db`)).toEqual(listed[0]);
      const fetched = await fetchTo(a.manifest.id);
      expect(fetched.manifest).toEqual(a.manifest);
      expect(readFileSync(fetched.dest).equals(readFileSync(a.file))).toBe(true);
    });

    it('lists newest first, backups of the same second by sequence', async () => {
      for (const x of [b, a, c]) await fx.store.put(x.manifest, x.file);
      expect(c.manifest.id).toBe(`${b.manifest.id}-2`);
      expect((await fx.store.list()).map((x) => x.id)).toEqual([c.manifest.id, b.manifest.id, a.manifest.id]);
    });

    it('put is idempotent: the same backup twice is stored once', async () => {
      await fx.store.put(a.manifest, a.file);
      await fx.store.put(a.manifest, a.file);
      expect((await fx.store.list()).map((x) => x.id)).toEqual([a.manifest.id]);
      expect(await sha256File((await fetchTo(a.manifest.id)).dest)).toBe(a.manifest.sha256);
    });

    it('put never replaces another backup stored under the same id (BackupConflictError)', async () => {
      await fx.store.put(a.manifest, a.file);
      const impostor: BackupManifest = { ...b.manifest, id: a.manifest.id, file: a.manifest.file };
      await expect(fx.store.put(impostor, b.file)).rejects.toBeInstanceOf(BackupConflictError);
      const kept = await fetchTo(a.manifest.id);
      expect(kept.manifest).toEqual(a.manifest);
      expect(await sha256File(kept.dest)).toBe(a.manifest.sha256);
    });

    it('put refuses a file that does not match its manifest, and lists nothing for it', async () => {
      const tampered = join(out.path, 'tampered.db');
      copyFileSync(a.file, tampered);
      const bytes = readFileSync(tampered);
      bytes[bytes.length - 10] ^= 0x01;
      writeFileSync(tampered, bytes);
      await expect(fx.store.put(a.manifest, tampered)).rejects.toBeInstanceOf(BackupCorruptError);
      expect(await fx.store.list()).toEqual([]);
      await fx.store.put(a.manifest, a.file); // the real one still goes in afterwards
      expect((await fx.store.list()).map((x) => x.id)).toEqual([a.manifest.id]);
    });

    it('remove is idempotent, and a removed backup is gone', async () => {
      await fx.store.put(a.manifest, a.file);
      await fx.store.put(b.manifest, b.file);
      await fx.store.remove(a.manifest.id);
      await fx.store.remove(a.manifest.id);
      await fx.store.remove('app-1795000000');
      expect((await fx.store.list()).map((x) => x.id)).toEqual([b.manifest.id]);
      expect(await fx.store.stat(a.manifest.id)).toBeNull();
      await expect(fetchTo(a.manifest.id)).rejects.toBeInstanceOf(BackupNotFoundError);
    });

    it('a put cut short is never listed, and the next put completes it', async () => {
      await fx.interruptPut(a.manifest, a.file);
      expect(await fx.store.list()).toEqual([]);
      expect(await fx.store.stat(a.manifest.id)).toBeNull();
      await expect(fetchTo(a.manifest.id)).rejects.toBeInstanceOf(BackupNotFoundError);
      await fx.store.put(a.manifest, a.file);
      expect(await sha256File((await fetchTo(a.manifest.id)).dest)).toBe(a.manifest.sha256);
    });

    it('round-trips a multi-MB backup byte for byte', async () => {
      expect(big.manifest.size).toBeGreaterThan(3 * 1024 * 1024);
      await fx.store.put(big.manifest, big.file);
      expect((await fx.store.stat(big.manifest.id))?.size).toBe(big.manifest.size);
      const fetched = await fetchTo(big.manifest.id);
      expect(await sha256File(fetched.dest)).toBe(big.manifest.sha256);
      expect(fetched.manifest.rows).toBe(100_030);
    });
  });
}
