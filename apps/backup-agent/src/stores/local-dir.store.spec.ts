import { BackupManifest } from '@pra-kit/shared';
import { makeTempDir } from '@pra-kit/shared/testing';
import { copyFileSync, readdirSync, writeFileSync } from 'node:fs';
import { sha256File } from '../infra/durable-fs';
import { join } from 'node:path';
import { backupStoreContract } from './backup.store.contract';
import { LocalDirStore } from './local-dir.store';

backupStoreContract('LocalDirStore', async () => {
  const dir = makeTempDir('local-store');
  const store = new LocalDirStore(join(dir.path, 'backup'));
  await store.prepare();
  return {
    store,
    // A put killed after its manifest was written, before the rename that makes the backup exist.
    async interruptPut(manifest, sourceFile) {
      copyFileSync(sourceFile, `${store.pathOf(manifest.id)}.tmp`);
      writeFileSync(store.manifestPathOf(manifest.id), JSON.stringify(manifest));
    },
    cleanup: async () => dir.remove(),
  };
});

describe('LocalDirStore.remove', () => {
  const temp = makeTempDir('local-store-remove');
  afterAll(() => temp.remove());

  const manifestOf = (id: string, sha256: string, size: number): BackupManifest => ({
    format: 1,
    id,
    file: `${id}.db`,
    created_at: '2026-11-21T10:00:00.000Z',
    size,
    sha256,
    page_size: 4096,
    page_count: size / 4096,
    rows: 0,
    schema_version: 1,
    sqlite_version: '3.53.2',
    reason: 'manual',
    duration_ms: 1,
    verification: { mode: 'quick', ok: true, checked_at: '2026-11-21T10:00:00.000Z' },
  });

  it('takes the backup out of the listing and out of the directory, leaving nothing behind', async () => {
    const store = new LocalDirStore(join(temp.path, 'backup'));
    await store.prepare();
    const file = join(temp.path, 'app.db');
    writeFileSync(file, Buffer.alloc(3 * 1024 * 1024, 1)); // several removal steps
    const sha256 = await sha256File(file);
    for (const id of ['app-1795000000', 'app-1795000060'])
      await store.put(manifestOf(id, sha256, 3 * 1024 * 1024), file);

    await store.remove('app-1795000000');

    expect((await store.list()).map((b) => b.id)).toEqual(['app-1795000060']);
    expect(readdirSync(store.dir).sort()).toEqual(['app-1795000060.db', 'app-1795000060.json']);
  });

  it('a removal cut short leaves neither the backup nor its manifest listed', async () => {
    const store = new LocalDirStore(join(temp.path, 'cut-short'));
    await store.prepare();
    // The state right after remove's first step: the .db renamed away, the manifest still there.
    writeFileSync(join(store.dir, '.app-1795000000.db.remove.tmp'), 'half freed');
    writeFileSync(store.manifestPathOf('app-1795000000'), '{}');
    expect(await store.list()).toEqual([]);
  });
});
