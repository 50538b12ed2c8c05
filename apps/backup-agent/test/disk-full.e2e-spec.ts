import { seedEventsDb } from '@pra-kit/shared/testing';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Layout, makeLayout, startTestAgent } from './support/agent-harness';

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
