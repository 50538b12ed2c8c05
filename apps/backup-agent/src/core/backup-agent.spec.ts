import { LATEST, parseBackupRef, parseManifest } from '@pra-kit/shared';
import { makeTempDir, readMessages, seedEventsDb } from '@pra-kit/shared/testing';
import Database from 'better-sqlite3';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBackupAgent } from '../agent.factory';
import { BackupAgent } from './backup-agent';
import { sha256File } from '../infra/durable-fs';
import {
  BackupCorruptError,
  BackupNotFoundError,
  OperationInProgressError,
  PointInTimeUnavailableError,
  SourceCorruptError,
  SourceUnavailableError,
} from './errors';
import { silentLogger } from './ports';

describe('BackupAgent (core, real SQLite files)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let now: number;
  let agent: BackupAgent;
  let dbPath: string;
  let backupDir: string;

  beforeEach(() => {
    temp = makeTempDir('core');
    dbPath = join(temp.path, 'data', 'app.db');
    backupDir = join(temp.path, 'backup');
    now = Date.UTC(2026, 10, 21, 10, 0, 0);
    agent = buildBackupAgent(
      {
        dbPath,
        backupDir,
        verify: 'quick',
        retention: { keepLast: 100, hourly: 0, daily: 0, weekly: 0 },
        offsite: null,
      },
      { clock: { now: () => new Date(now) }, logger: silentLogger },
    );
  });
  afterEach(() => temp.remove());

  const files = () =>
    readdirSync(backupDir)
      .filter((n) => !n.startsWith('.'))
      .sort();

  describe('backup', () => {
    it('writes a verified, checksummed, self-contained backup with its manifest', async () => {
      seedEventsDb(dbPath, 42);
      const m = await agent.backup('manual');
      expect(m.id).toBe(`app-${now / 1000}`);
      expect(files()).toEqual([`${m.id}.db`, `${m.id}.json`]);
      const file = join(backupDir, m.file);
      expect(m).toMatchObject({ rows: 42, reason: 'manual', schema_version: 1, page_size: 4096 });
      expect(m.verification).toMatchObject({ mode: 'quick', ok: true });
      expect(m.sha256).toBe(await sha256File(file));
      expect(parseManifest(JSON.parse(readFileSync(join(backupDir, `${m.id}.json`), 'utf8')))).toEqual(m);
      // Self-contained: a rollback-journal file, readable alone, with every row.
      const db = new Database(file, { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
      db.close();
      expect(readMessages(file)).toEqual(readMessages(dbPath));
    });

    it('includes rows that are still only in the WAL (what a plain cp misses)', async () => {
      seedEventsDb(dbPath, 10);
      const writer = new Database(dbPath);
      writer.pragma('wal_autocheckpoint = 0');
      const insert = writer.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
      for (let i = 0; i < 500; i++) insert.run('2026-01-01T00:00:00Z', `wal-${i}`);
      expect(readFileSync(`${dbPath}-wal`).length).toBeGreaterThan(0);
      const m = await agent.backup('manual');
      writer.close();
      expect(m.rows).toBe(510);
      expect(readMessages(join(backupDir, m.file))).toHaveLength(510);
    });

    it('never overwrites: two backups in the same second get distinct ids', async () => {
      seedEventsDb(dbPath, 1);
      const a = await agent.backup('manual');
      seedEventsDb(dbPath, 1);
      const b = await agent.backup('manual');
      expect([a.id, b.id]).toEqual([`app-${now / 1000}`, `app-${now / 1000}-2`]);
      expect([a.rows, b.rows]).toEqual([1, 2]);
      expect((await agent.list()).map((v) => v.id)).toEqual([b.id, a.id]);
    });

    it('fails clearly when the source is missing, and counts the failure', async () => {
      await expect(agent.backup('scheduled')).rejects.toBeInstanceOf(SourceUnavailableError);
      expect(agent.stats.failuresTotal).toBe(1);
      expect(agent.stats.lastError).toMatch(/does not exist/);
      expect(existsSync(backupDir) ? files() : []).toEqual([]);
    });

    it('refuses a corrupt source database and lists nothing for it', async () => {
      seedEventsDb(dbPath, 2000);
      const db = new Database(dbPath);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      const bytes = readFileSync(dbPath);
      bytes.fill(0x5a, 4096 * 3, 4096 * 6); // scribble over b-tree pages
      writeFileSync(dbPath, bytes);
      await expect(agent.backup('scheduled')).rejects.toBeInstanceOf(SourceCorruptError);
      expect(files()).toEqual([]);
    });

    it('applies retention after each backup, never pruning the newest verified one', async () => {
      const small = buildBackupAgent(
        { ...agent.config, retention: { keepLast: 2, hourly: 0, daily: 0, weekly: 0 }, offsite: null },
        { clock: { now: () => new Date(now) }, logger: silentLogger },
      );
      seedEventsDb(dbPath, 1);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) {
        now += 60_000;
        ids.push((await small.backup('scheduled')).id);
      }
      expect((await small.list()).map((b) => b.id)).toEqual([ids[4], ids[3]]);
      expect(small.stats.prunedTotal).toBe(3);
    });
  });

  describe('restore', () => {
    it('restores a chosen older point online; its safety snapshot restores the newer state back', async () => {
      seedEventsDb(dbPath, 10, 'old');
      const older = await agent.backup('manual');
      seedEventsDb(dbPath, 5, 'new');
      const newerMessages = readMessages(dbPath);
      now += 60_000;

      const result = await agent.restore({ ref: parseBackupRef(older.id), mode: 'online' });
      expect(result).toMatchObject({ mode: 'online', rows_before: 15, rows_after: 10, dry_run: false });
      expect(result.restored).toMatchObject({ id: older.id, rows: 10, from: 'local' });
      expect(readMessages(dbPath)).toEqual(newerMessages.slice(0, 10));
      const live = new Database(dbPath);
      expect(live.pragma('journal_mode', { simple: true })).toBe('wal'); // still the API's WAL db
      live.close();

      const safety = result.safety_snapshot as string;
      expect((await agent.get(parseBackupRef(safety))).reason).toBe('pre-restore');
      const undo = await agent.restore({ ref: parseBackupRef(safety), mode: 'online' });
      expect(undo.rows_after).toBe(15);
      expect(readMessages(dbPath)).toEqual(newerMessages);
    });

    it('online restore leaves the restored pages in the database file, not only in the live WAL', async () => {
      seedEventsDb(dbPath, 2000, 'old');
      const older = await agent.backup('manual');
      seedEventsDb(dbPath, 500, 'new');
      // The API's connection stays open and in use, so closing the agent's connections does not
      // checkpoint the WAL (only the last connection to close does).
      const api = new Database(dbPath);
      try {
        api.pragma('wal_autocheckpoint = 0');
        expect(api.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 2500 });
        await agent.restore({ ref: parseBackupRef(older.id), mode: 'online' });
        expect(api.prepare('SELECT count(*) AS n FROM events').get()).toEqual({ n: 2000 });
        // The database file alone, without its WAL, already holds the restored state: the API's
        // next write has no whole-database checkpoint left to do.
        const fileOnly = join(temp.path, 'file-only.db');
        writeFileSync(fileOnly, readFileSync(dbPath));
        expect(readMessages(fileOnly)).toEqual(readMessages(join(backupDir, older.file)));
      } finally {
        api.close();
      }
    });

    it('dry run answers what would happen and changes nothing', async () => {
      seedEventsDb(dbPath, 3);
      const m = await agent.backup('manual');
      seedEventsDb(dbPath, 3);
      const before = await sha256File(dbPath);
      const listed = files();
      const result = await agent.restore({ ref: parseBackupRef('latest'), mode: 'online', dryRun: true });
      expect(result).toMatchObject({
        dry_run: true,
        rows_before: 6,
        rows_after: 3, // what the restore would leave: the backup's rows
        safety_snapshot: null,
      });
      expect(result.restored.id).toBe(m.id);
      expect(await sha256File(dbPath)).toBe(before);
      expect(files()).toEqual(listed);
    });

    it('restores offline into an empty data directory (lost volume) with every row', async () => {
      seedEventsDb(dbPath, 1234);
      const m = await agent.backup('scheduled');
      const expected = readMessages(dbPath);
      rmSync(join(temp.path, 'data'), { recursive: true, force: true });

      const result = await agent.restore({ ref: parseBackupRef('latest'), mode: 'offline' });
      expect(result).toMatchObject({
        mode: 'offline',
        rows_before: null,
        rows_after: 1234,
        safety_snapshot: null,
      });
      expect(result.restored.id).toBe(m.id);
      expect(readMessages(dbPath)).toEqual(expected);
      expect(readdirSync(join(temp.path, 'data'))).toEqual(['app.db']);
    });

    it('an online restore with no live database places the file (nothing serves it), and says so', async () => {
      seedEventsDb(dbPath, 12);
      const m = await agent.backup('manual');
      rmSync(join(temp.path, 'data'), { recursive: true, force: true });
      const result = await agent.restore({ ref: parseBackupRef(m.id), mode: 'online' });
      expect(result).toMatchObject({
        mode: 'offline',
        rows_before: null,
        rows_after: 12,
        safety_snapshot: null,
      });
      expect(result.notes.join(' ')).toMatch(/does not exist: restored by placing the file/);
      expect(readMessages(dbPath)).toHaveLength(12);
    });

    it('offline restore removes a stale WAL so it cannot be replayed into the restored file', async () => {
      seedEventsDb(dbPath, 5, 'kept');
      const m = await agent.backup('manual');
      const writer = new Database(dbPath);
      writer.pragma('wal_autocheckpoint = 0');
      writer.prepare('INSERT INTO events (ts, message) VALUES (?, ?)').run('t', 'only-in-wal');
      // Simulate a crashed API: copy the WAL aside while the connection is open, then restore it.
      const wal = readFileSync(`${dbPath}-wal`);
      writer.close();
      writeFileSync(`${dbPath}-wal`, wal);
      const result = await agent.restore({ ref: parseBackupRef(m.id), mode: 'offline' });
      expect(result.rows_after).toBe(5);
      expect(readMessages(dbPath)).toEqual(['kept-0', 'kept-1', 'kept-2', 'kept-3', 'kept-4']);
      // ...and the state it replaced, WAL included, is in the safety snapshot.
      const safety = await agent.get(parseBackupRef(result.safety_snapshot as string));
      expect(safety.rows).toBe(6);
    });

    it('refuses a tampered backup (one byte flipped) and changes nothing', async () => {
      seedEventsDb(dbPath, 50);
      const m = await agent.backup('manual');
      seedEventsDb(dbPath, 1);
      const file = join(backupDir, m.file);
      const bytes = readFileSync(file);
      bytes[bytes.length - 100] ^= 0x01;
      writeFileSync(file, bytes);
      const liveBefore = await sha256File(dbPath);
      const listed = files();

      for (const mode of ['online', 'offline'] as const) {
        const attempt = agent.restore({ ref: parseBackupRef(m.id), mode });
        await expect(attempt).rejects.toBeInstanceOf(BackupCorruptError);
        await expect(attempt).rejects.toThrow(/sha256 .* does not match/);
      }
      expect(await sha256File(dbPath)).toBe(liveBefore);
      expect(files()).toEqual(listed); // no safety snapshot was taken either
      expect((await agent.verify(m.id))[0]).toMatchObject({ ok: false });
    });

    it('reports unknown ids and refuses a backup that has no manifest until it is verified', async () => {
      seedEventsDb(dbPath, 2);
      await expect(
        agent.restore({ ref: parseBackupRef('app-1111111111'), mode: 'online' }),
      ).rejects.toBeInstanceOf(BackupNotFoundError);
      await expect(agent.restore({ ref: parseBackupRef('latest'), mode: 'online' })).rejects.toBeInstanceOf(
        BackupNotFoundError,
      );

      const m = await agent.backup('manual');
      const copied = `app-${now / 1000 + 5}`;
      writeFileSync(join(backupDir, `${copied}.db`), readFileSync(join(backupDir, m.file)));
      expect((await agent.get(parseBackupRef(copied))).verified).toBeNull();
      await expect(agent.restore({ ref: parseBackupRef(copied), mode: 'online' })).rejects.toThrow(
        /no manifest/,
      );

      const [report] = await agent.verify(copied);
      expect(report).toMatchObject({ id: copied, ok: true, adopted: true });
      expect(await agent.get(parseBackupRef(copied))).toMatchObject({
        verified: true,
        reason: 'imported',
        rows: 2,
      });
      await expect(agent.restore({ ref: parseBackupRef(copied), mode: 'online' })).resolves.toMatchObject({
        rows_after: 2,
      });
    });

    it('runs one operation at a time: a second restore or backup gets OperationInProgressError', async () => {
      seedEventsDb(dbPath, 20_000);
      const m = await agent.backup('manual');
      const first = agent.restore({ ref: parseBackupRef(m.id), mode: 'online' });
      await expect(agent.restore({ ref: parseBackupRef(m.id), mode: 'online' })).rejects.toMatchObject({
        code: 'RESTORE_IN_PROGRESS',
      });
      await expect(agent.backup('manual')).rejects.toBeInstanceOf(OperationInProgressError);
      await expect(first).resolves.toMatchObject({ rows_after: 20_000 });
      await expect(agent.backup('manual')).resolves.toMatchObject({ rows: 20_000 });
    });

    it('latest means the same backup to get and to restore: the newest verified, never a safety snapshot', async () => {
      seedEventsDb(dbPath, 4, 'old');
      const older = await agent.backup('manual');
      now += 60_000;
      seedEventsDb(dbPath, 4, 'new');
      const newer = await agent.backup('scheduled');
      now += 60_000;
      expect((await agent.get(LATEST)).id).toBe(newer.id);
      expect((await agent.get(parseBackupRef(''))).id).toBe(newer.id);

      const undoable = await agent.restore({ ref: parseBackupRef(older.id), mode: 'online' });
      const safety = await agent.get(parseBackupRef(undoable.safety_snapshot as string));
      expect(safety).toMatchObject({ reason: 'pre-restore', rows: 8, verified: true });
      expect((await agent.list())[0].id).toBe(safety.id); // the newest backup is the safety snapshot...
      expect((await agent.get(LATEST)).id).toBe(newer.id); // ...but latest skips it
      const dry = await agent.restore({ ref: parseBackupRef(''), mode: 'online', dryRun: true });
      expect(dry.restored.id).toBe(newer.id);
    });

    it('a restore to an instant is refused (it needs continuous replication); nothing is touched', async () => {
      seedEventsDb(dbPath, 3);
      await agent.backup('manual');
      const listed = files();
      const before = await sha256File(dbPath);
      const at = { kind: 'at', at: new Date(now - 30_000) } as const;
      const attempt = agent.restore({ ref: at, mode: 'online' });
      await expect(attempt).rejects.toBeInstanceOf(PointInTimeUnavailableError);
      await expect(attempt).rejects.toMatchObject({ code: 'POINT_IN_TIME_UNAVAILABLE' });
      await expect(attempt).rejects.toThrow(/point-in-time restore needs continuous replication/);
      await expect(agent.get(at)).rejects.toBeInstanceOf(PointInTimeUnavailableError);
      expect(files()).toEqual(listed);
      expect(await sha256File(dbPath)).toBe(before);
      expect(agent.stats.restoresTotal).toBe(0);
    });
  });

  it('cleans leftovers of an interrupted run at start and never lists them', async () => {
    seedEventsDb(dbPath, 1);
    const m = await agent.backup('manual');
    writeFileSync(join(backupDir, 'app-1795000000.db.tmp'), 'partial');
    writeFileSync(join(backupDir, 'app-1795000001.json'), '{}'); // manifest whose .db never landed
    writeFileSync(join(backupDir, '.app-1795000002.db.remove.tmp'), 'pruned'); // removal cut short
    writeFileSync(join(temp.path, 'data', '.app.db.restore.tmp'), 'partial');
    expect((await agent.list()).map((b) => b.id)).toEqual([m.id]);
    expect(await agent.start()).toBe(true);
    expect(files()).toEqual([`${m.id}.db`, `${m.id}.json`]);
    expect(readdirSync(join(temp.path, 'data')).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });
});
