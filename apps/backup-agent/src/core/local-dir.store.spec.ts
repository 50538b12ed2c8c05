import { makeTempDir } from '@pra-kit/shared/testing';
import { copyFileSync, writeFileSync } from 'node:fs';
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
