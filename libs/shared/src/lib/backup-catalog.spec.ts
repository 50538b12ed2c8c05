import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { latestBackup, readCatalogDir } from './backup-catalog';
import { BackupManifest } from './backup-manifest';

function manifestFor(id: string, size: number): BackupManifest {
  return {
    format: 1,
    id,
    file: `${id}.db`,
    created_at: '2026-11-21T10:00:00.123Z',
    size,
    sha256: 'a'.repeat(64),
    page_size: 4096,
    page_count: 2,
    rows: 3,
    schema_version: 1,
    sqlite_version: '3.53.2',
    reason: 'scheduled',
    duration_ms: 5,
    verification: { mode: 'quick', ok: true, checked_at: '2026-11-21T10:00:00.200Z' },
  };
}

describe('readCatalogDir', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'catalog-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty for a missing directory', () => {
    expect(readCatalogDir(join(dir, 'nope'))).toEqual([]);
    expect(latestBackup(join(dir, 'nope'))).toBeNull();
  });

  it('lists backups newest first, with manifests when they agree, ignoring temp and stray files', () => {
    writeFileSync(join(dir, 'app-1772098321.db'), 'x'.repeat(10));
    writeFileSync(join(dir, 'app-1772098321.json'), JSON.stringify(manifestFor('app-1772098321', 10)));
    writeFileSync(join(dir, 'app-1772098321-2.db'), 'y'.repeat(4));
    writeFileSync(join(dir, 'app-1772098321-2.json'), JSON.stringify(manifestFor('app-1772098321-2', 99)));
    writeFileSync(join(dir, 'app-1772098300.db'), 'z');
    writeFileSync(join(dir, 'app-1772098999.db.tmp'), 'partial');
    writeFileSync(join(dir, 'app-1772099999.json'), JSON.stringify(manifestFor('app-1772099999', 1)));
    writeFileSync(join(dir, 'notes.txt'), 'n');
    mkdirSync(join(dir, 'app-1772098400.db'));

    const entries = readCatalogDir(dir);
    expect(entries.map((e) => e.id)).toEqual(['app-1772098321-2', 'app-1772098321', 'app-1772098300']);
    expect(entries[0].manifest).toBeNull();
    expect(entries[0].manifestProblem).toMatch(/size 4 differs/);
    expect(entries[1].manifest?.sha256).toBe('a'.repeat(64));
    expect(entries[1].createdAt.toISOString()).toBe('2026-11-21T10:00:00.123Z');
    expect(entries[2].manifestProblem).toBe('no manifest');
    expect(entries[2].createdAt.getTime()).toBe(1772098300 * 1000);
  });

  it('finds the newest backup reading only its manifest, whatever the number of backups (/status)', () => {
    for (let i = 0; i < 30; i++) {
      const id = `app-${1772098000 + i}`;
      writeFileSync(join(dir, `${id}.db`), 'x'.repeat(10));
      writeFileSync(join(dir, `${id}.json`), JSON.stringify(manifestFor(id, 10)));
    }
    mkdirSync(join(dir, 'app-1772099000.db')); // newer name, but not a file: skipped
    const reads = jest.spyOn(jest.requireActual<typeof import('node:fs')>('node:fs'), 'readFileSync');
    try {
      const latest = latestBackup(dir);
      expect(reads).toHaveBeenCalledTimes(1);
      expect(latest).toEqual(readCatalogDir(dir)[0]);
      expect(latest?.id).toBe('app-1772098029');
      expect(latest?.manifest?.id).toBe('app-1772098029');
    } finally {
      reads.mockRestore();
    }
  });
});
