import { seedEventsDb } from '@pra-kit/shared/testing';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildBackupAgent } from '../src/agent.factory';
import { silentLogger } from '../src/core/ports';
import { Layout, makeLayout, startTestAgent } from './support/agent-harness';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * A full backup volume, on a real small filesystem (tmpfs, as root): retention makes room by
 * removing the oldest points; when it cannot, the backup is refused with 507 and the bytes, nothing
 * partial is left, the live database is untouched, and it works again once space is freed.
 */
function mountTmpfs(dir: string, size: string): boolean {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch (err) {
    console.warn(
      `SKIPPED the full-volume tests: cannot mount a tmpfs (${(err as Error).message.split('\n')[0]}); run as root`,
    );
    return false;
  }
}

const auth = { Authorization: 'Bearer disk-full-token-0123456789' };

describe('a full backup volume (tmpfs)', () => {
  const layout: Layout = makeLayout('disk-full');
  const mounted = mountTmpfs(layout.backupDir, '8m');
  beforeAll(() => {
    seedEventsDb(layout.dbPath, 25_000); // about 2 MB: four snapshots do not fit in 8 MB with a 10% reserve
  });
  afterAll(() => {
    if (mounted) execFileSync('umount', ['-l', layout.backupDir]);
    layout.remove();
  });

  const maybe = (name: string, fn: () => Promise<void>) => (mounted ? it : it.skip)(name, fn, 60_000);

  maybe('retention removes the oldest points to make room; every backup succeeds', async () => {
    const agent = await startTestAgent(layout, {
      BACKUP_TOKEN: auth.Authorization.slice(7),
      BACKUP_KEEP_LAST: '100',
    });
    try {
      const ids: string[] = [];
      for (let i = 0; i < 6; i++) {
        seedEventsDb(layout.dbPath, 500, `more-${i}`);
        const res = await agent.http().post('/backups').set(auth).expect(201);
        ids.push(res.body.id);
      }
      const listed = (await agent.http().get('/backups').expect(200)).body.map((b: { id: string }) => b.id);
      expect(listed.length).toBeLessThan(6); // the GFS rules alone would keep all six
      expect(listed[0]).toBe(ids[5]); // the newest is kept...
      expect(listed).not.toContain(ids[0]); // ...the oldest went first
      const { bavail, bsize, blocks } = statfsSync(layout.backupDir);
      expect(bavail * bsize).toBeGreaterThanOrEqual(blocks * bsize * 0.1); // the reserve is kept
      const metrics = (await agent.http().get('/metrics').expect(200)).text;
      expect(metrics).toMatch(/^pra_backups_pruned_total [1-9]/m);
    } finally {
      await agent.close();
    }
  });

  maybe(
    'a backup that cannot fit is refused with 507 and the bytes; nothing partial; it works once space is freed',
    async () => {
      const agent = await startTestAgent(layout, {
        BACKUP_TOKEN: auth.Authorization.slice(7),
        BACKUP_KEEP_LAST: '100',
      });
      try {
        // Keep only one backup (the newest verified: never removed), then fill the volume to ~1 MB free.
        const kept = (await agent.http().get('/backups').expect(200)).body as { id: string }[];
        for (const b of kept.slice(1)) rmSync(join(layout.backupDir, `${b.id}.db`));
        const { bavail, bsize } = statfsSync(layout.backupDir);
        writeFileSync(
          join(layout.backupDir, 'filler'),
          Buffer.alloc(Math.max(0, bavail * bsize - 1024 * 1024)),
        );
        const before = readdirSync(layout.backupDir).sort();
        const rowsBefore = (await agent.http().get('/backups').expect(200)).body.length;

        const res = await agent.http().post('/backups').set(auth).expect(507);
        expect(res.body).toMatchObject({ statusCode: 507, code: 'INSUFFICIENT_STORAGE' });
        expect(res.body.message).toMatch(/about \d+\.\d MiB needed, \d+\.\d MiB free/);
        expect(res.body.message).toMatch(/tries again by itself/);
        expect(readdirSync(layout.backupDir).sort()).toEqual(before); // no temp file, no manifest
        expect((await agent.http().get('/backups').expect(200)).body).toHaveLength(rowsBefore);
        const metrics = (await agent.http().get('/metrics').expect(200)).text;
        expect(metrics).toMatch(/^pra_backup_insufficient_storage_total 1$/m);
        const health = (await agent.http().get('/health/backups').expect(200)).body;
        expect(health.storage.ok).toBe(false);
        expect(health.conditions.find((c: { name: string }) => c.name === 'storage').message).toMatch(
          /nearly full/,
        );

        rmSync(join(layout.backupDir, 'filler'));
        const again = await agent.http().post('/backups').set(auth).expect(201);
        expect(again.body.rows).toBeGreaterThan(25_000);
      } finally {
        await agent.close();
      }
    },
  );
});

/** Space-aware retention never removes what the operation that asked for room is about to read. */
describe('a nearly full backup volume (tmpfs): retention spares what is being restored or replicated', () => {
  const layout: Layout = makeLayout('disk-full-keep');
  const mounted = mountTmpfs(layout.backupDir, '16m');
  afterAll(() => {
    if (mounted) execFileSync('umount', ['-l', layout.backupDir]);
    layout.remove();
  });
  const maybe = (name: string, fn: () => Promise<void>) => (mounted ? it : it.skip)(name, fn, 60_000);
  const fillLeaving = (bytes: number) => {
    const { bavail, bsize } = statfsSync(layout.backupDir);
    writeFileSync(join(layout.backupDir, 'filler'), Buffer.alloc(Math.max(0, bavail * bsize - bytes)));
  };

  maybe(
    'restoring the oldest point when its safety snapshot needs room: the point is kept and restored',
    async () => {
      seedEventsDb(layout.dbPath, 25_000); // about 2 MB
      const agent = await startTestAgent(layout, {
        BACKUP_TOKEN: auth.Authorization.slice(7),
        BACKUP_KEEP_LAST: '100',
        BACKUP_REPLICATION: 'off',
      });
      try {
        const oldest = (await agent.http().post('/backups').set(auth).expect(201)).body;
        seedEventsDb(layout.dbPath, 500, 'later');
        const newest = (await agent.http().post('/backups').set(auth).expect(201)).body;
        // Room for the safety snapshot, but not for the 10% reserve besides: retention is asked for room.
        fillLeaving((await agent.agent.storage()).nextSnapshotBytes + 256 * 1024);

        const res = await agent.http().post(`/restore/${oldest.id}`).set(auth).expect(200);
        expect(res.body.rows_after).toBe(oldest.rows);
        const listed = (await agent.http().get('/backups').expect(200)).body.map((b: { id: string }) => b.id);
        expect(listed).toContain(oldest.id); // what was restored is still there
        expect(listed).toContain(newest.id);
      } finally {
        rmSync(join(layout.backupDir, 'filler'), { force: true });
        await agent.close();
      }
    },
  );

  maybe(
    'a segment refused for lack of room makes retention remove the oldest snapshot; the chain goes on',
    async () => {
      rmSync(layout.dbPath.replace(/app\.db$/, ''), { recursive: true, force: true });
      for (const name of readdirSync(layout.backupDir))
        rmSync(join(layout.backupDir, name), { recursive: true });
      seedEventsDb(layout.dbPath, 25_000);
      const agent = buildBackupAgent(
        {
          dbPath: layout.dbPath,
          backupDir: layout.backupDir,
          verify: 'quick',
          retention: { keepLast: 100, hourly: 0, daily: 0, weekly: 0 },
          offsite: null,
          replication: { syncIntervalMs: 200, windowMs: 3_600_000, follow: true },
        },
        { logger: silentLogger },
      );
      const replication = agent.replication as NonNullable<typeof agent.replication>;
      const writer = new Database(layout.dbPath);
      try {
        replication.start();
        const deadline = Date.now() + 15_000;
        while (replication.status()?.state !== 'following') {
          if (Date.now() > deadline) throw new Error(`no chain: ${JSON.stringify(replication.status())}`);
          await sleep(100);
        }
        await agent.backup('manual');
        await agent.backup('manual');
        const before = (await agent.list()).map((b) => b.id); // newest first: the chain's base is last
        expect(before).toHaveLength(3);
        const written = replication.status()?.segmentsWritten ?? 0;

        fillLeaving(8 * 1024); // the next segment does not fit
        const insert = writer.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
        for (let batch = 0; batch < 20; batch++) {
          writer.transaction(() => {
            for (let i = 0; i < 100; i++) insert.run(new Date().toISOString(), `full-${batch}-${i}`);
          })();
          await sleep(20);
        }
        const resumeBy = Date.now() + 20_000;
        while ((replication.status()?.segmentsWritten ?? 0) <= written + 1) {
          if (Date.now() > resumeBy)
            throw new Error(`no segment fitted: ${JSON.stringify(replication.status())}`);
          await sleep(100);
        }
        const status = replication.status();
        expect(status?.breaksTotal).toBe(0);
        expect(status?.state).toBe('following');
        const after = (await agent.list()).map((b) => b.id);
        // The room came from the oldest snapshots (as many as the reserve needed); the newest stays.
        expect(after.length).toBeGreaterThan(0);
        expect(after.length).toBeLessThan(before.length);
        expect(after).toEqual(before.slice(0, after.length));
      } finally {
        writer.close();
        await replication.stop();
        rmSync(join(layout.backupDir, 'filler'), { force: true });
      }
    },
  );
});
