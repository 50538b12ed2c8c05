import { makeTempDir } from '@pra-kit/shared/testing';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { removeGently, sha256File, writeFileDurable } from './durable-fs';

describe('durable-fs', () => {
  const temp = makeTempDir('durable-fs');
  afterAll(() => temp.remove());

  describe('removeGently', () => {
    it('shrinks a large file a step at a time, then unlinks it', async () => {
      const path = join(temp.path, 'big.db');
      writeFileSync(path, Buffer.alloc(5 * 1024 * 1024 + 1, 7));
      // 5 MiB + 1 byte in 1 MiB steps: down to 4, 3, 2, 1 MiB and 1 byte, then the unlink.
      await expect(removeGently(path, 1024 * 1024)).resolves.toBe(5);
      expect(existsSync(path)).toBe(false);
    });

    it('unlinks a file no larger than one step at once', async () => {
      const path = join(temp.path, 'small.json');
      writeFileSync(path, '{}');
      await expect(removeGently(path)).resolves.toBe(0);
      expect(existsSync(path)).toBe(false);
    });

    it('is not an error for a missing file', async () => {
      await expect(removeGently(join(temp.path, 'missing.db'))).resolves.toBe(0);
    });

    it('refuses a directory and leaves it there', async () => {
      const dir = join(temp.path, 'a-dir.tmp');
      mkdirSync(dir);
      await expect(removeGently(dir)).rejects.toMatchObject({ code: 'EISDIR' });
      expect(existsSync(dir)).toBe(true);
    });
  });

  it('writeFileDurable replaces the file whole and leaves no temp file', async () => {
    const dir = join(temp.path, 'manifests');
    mkdirSync(dir);
    const path = join(dir, 'app-1.json');
    await writeFileDurable(path, 'first');
    await writeFileDurable(path, 'second');
    expect(readdirSync(dir)).toEqual(['app-1.json']);
    await expect(sha256File(path)).resolves.toBe(
      '16367aacb67a4a017c8da8ab95682ccb390863780f7114dda0a0e0c55644c7c4', // sha256("second")
    );
  });
});
