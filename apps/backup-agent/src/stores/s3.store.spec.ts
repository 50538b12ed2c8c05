import { parseManifest } from '@pra-kit/shared';
import { freePort, makeTempDir } from '@pra-kit/shared/testing';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  decryptObject,
  listObjectNames,
  readObject,
  S3TestServer,
  sha256,
  startS3Server,
} from '../../test/support/s3-server';
import { backupStoreContract, SourceBackup, takeBackups } from './backup.store.contract';
import {
  BackupCorruptError,
  EncryptionKeyError,
  OffsiteAccessDeniedError,
  OffsiteBucketMissingError,
  OffsiteUnavailableError,
} from '../core/errors';
import { S3Store, S3StoreOptions } from './s3.store';

let server: S3TestServer;
beforeAll(async () => (server = await startS3Server()));
afterAll(() => server.close());

for (const encrypted of [false, true]) {
  backupStoreContract(`S3Store on s3rver${encrypted ? ', encrypted' : ''}`, async () => {
    const options = server.storeOptions({ encryptionKey: encrypted ? randomBytes(32) : null });
    const store = new S3Store(options);
    await store.prepare();
    return {
      store,
      // An upload cut short after part of the data object, before the manifest (s3rver, unlike
      // S3, can leave a truncated object behind when the client dies mid-PUT).
      async interruptPut(manifest, sourceFile) {
        const bytes = readFileSync(sourceFile);
        await server.minio.putObject(
          options.bucket,
          `pra/${manifest.id}.db`,
          bytes.subarray(0, bytes.length >> 1),
          undefined,
          {
            'X-Amz-Meta-Sha256': manifest.sha256,
          },
        );
      },
      cleanup: async () => store.close(),
    };
  });
}

describe('S3Store, checked with a second client (minio)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let backup: SourceBackup;
  const stores: S3Store[] = [];
  const storeWith = (options: S3StoreOptions) => {
    const store = new S3Store(options);
    stores.push(store);
    return store;
  };
  /** A prepared store on a new bucket, holding `backup`. */
  const holding = async (overrides: Partial<S3StoreOptions> = {}) => {
    const options = server.storeOptions(overrides);
    const store = storeWith(options);
    await store.prepare();
    await store.put(backup.manifest, backup.file);
    return { options, store, id: backup.manifest.id };
  };

  beforeAll(async () => {
    temp = makeTempDir('s3-store');
    [backup] = await takeBackups(temp.path, [{ rows: 2000, prefix: 'secret-message' }]);
  });
  afterAll(() => {
    stores.forEach((s) => s.close());
    temp.remove();
  });

  it('stores the backup and its manifest; the metadata sha256 is the manifest one; bytes are equal', async () => {
    const { options, id } = await holding();
    expect(await listObjectNames(server.minio, options.bucket)).toEqual([`pra/${id}.db`, `pra/${id}.json`]);
    const stat = await server.minio.statObject(options.bucket, `pra/${id}.db`);
    expect(stat.metaData).toMatchObject({
      sha256: backup.manifest.sha256,
      'backup-id': id,
      encryption: 'none',
    });
    expect(stat.size).toBe(backup.manifest.size);
    expect(sha256(await readObject(server.minio, options.bucket, `pra/${id}.db`))).toBe(
      backup.manifest.sha256,
    );
    const manifest = parseManifest(
      JSON.parse((await readObject(server.minio, options.bucket, `pra/${id}.json`)).toString()),
    );
    expect(manifest).toEqual(backup.manifest);
  });

  it('with a key, the bucket holds ciphertext only; the documented format decrypts to the backup', async () => {
    const key = randomBytes(32);
    const { options, id } = await holding({ encryptionKey: key });
    const stored = await readObject(server.minio, options.bucket, `pra/${id}.db`);
    const plain = readFileSync(backup.file);
    expect(plain.includes('secret-message-1999')).toBe(true); // the check below can fail
    expect(stored.includes('SQLite format 3')).toBe(false);
    expect(stored.includes('secret-message')).toBe(false);
    expect(stored.length).toBe(plain.length + 44);
    expect(decryptObject(stored, key, id).equals(plain)).toBe(true);
    const stat = await server.minio.statObject(options.bucket, `pra/${id}.db`);
    expect(stat.metaData).toMatchObject({ sha256: backup.manifest.sha256, encryption: 'aes-256-gcm' });
    expect(stat.metaData['key-id']).toMatch(/^[0-9a-f]{16}$/);
  });

  it('a wrong or missing key is EncryptionKeyError, a modified object BackupCorruptError; no file is left', async () => {
    const { options, store, id } = await holding({ encryptionKey: randomBytes(32) });
    const dest = join(temp.path, 'fetched.db');

    const wrongKey = storeWith({ ...options, encryptionKey: randomBytes(32) });
    await expect(wrongKey.fetch(id, dest)).rejects.toMatchObject({
      constructor: EncryptionKeyError,
      code: 'ENCRYPTION_KEY_MISMATCH',
      message: expect.stringMatching(/encrypted with another key .*S3_ENCRYPTION_KEY/),
    });
    expect(existsSync(dest)).toBe(false);
    const noKey = storeWith({ ...options, encryptionKey: null });
    await expect(noKey.fetch(id, dest)).rejects.toMatchObject({ code: 'ENCRYPTION_KEY_MISSING' });
    expect(existsSync(dest)).toBe(false);

    // One ciphertext byte flipped, metadata kept: the size still fits, the GCM tag does not.
    const stored = await readObject(server.minio, options.bucket, `pra/${id}.db`);
    stored[stored.length >> 1] ^= 0x01;
    const meta = (await server.minio.statObject(options.bucket, `pra/${id}.db`)).metaData;
    await server.minio.putObject(options.bucket, `pra/${id}.db`, stored, stored.length, {
      'X-Amz-Meta-Sha256': meta['sha256'],
      'X-Amz-Meta-Key-Id': meta['key-id'],
    });
    const attempt = store.fetch(id, dest);
    await expect(attempt).rejects.toBeInstanceOf(BackupCorruptError);
    await expect(attempt).rejects.toThrow(/authentication failed/);
    expect(existsSync(dest)).toBe(false);
  });

  it('reads a copy uploaded before encryption was turned on (its sha256 is still checked by the restore)', async () => {
    const { options } = await holding();
    const dest = join(temp.path, 'legacy.db');
    await storeWith({ ...options, encryptionKey: randomBytes(32) }).fetch(backup.manifest.id, dest);
    expect(sha256(readFileSync(dest))).toBe(backup.manifest.sha256);
  });

  it('a missing bucket is created when allowed, else a clear error naming the bucket and endpoint', async () => {
    const refused = storeWith(server.storeOptions({ createBucket: false }));
    const bucket = refused.location.split('/')[2];
    await expect(refused.prepare()).rejects.toBeInstanceOf(OffsiteBucketMissingError);
    await expect(refused.prepare()).rejects.toThrow(
      `bucket "${bucket}" does not exist at ${server.endpoint}: create it, or set S3_CREATE_BUCKET=true`,
    );
    expect(await server.minio.bucketExists(bucket)).toBe(false);

    const allowed = storeWith(server.storeOptions({ bucket, createBucket: true }));
    await allowed.prepare();
    expect(await server.minio.bucketExists(bucket)).toBe(true);
    await allowed.prepare(); // and again: nothing to do
  });

  it('wrong credentials and an unreachable endpoint are clear errors naming the place', async () => {
    const options = server.storeOptions();
    await storeWith(options).prepare();
    const denied = storeWith({ ...options, accessKeyId: 'WRONG-KEY-ID' });
    await expect(denied.prepare()).rejects.toBeInstanceOf(OffsiteAccessDeniedError);
    await expect(denied.list()).rejects.toThrow(
      new RegExp(
        `cannot list s3://${options.bucket}/pra/ at ${server.endpoint}: access denied .*S3_ACCESS_KEY_ID`,
      ),
    );
    await expect(denied.put(backup.manifest, backup.file)).rejects.toBeInstanceOf(OffsiteAccessDeniedError);

    const nowhere = `http://127.0.0.1:${await freePort()}`;
    const down = storeWith({ ...options, endpoint: nowhere });
    await expect(down.prepare()).rejects.toBeInstanceOf(OffsiteUnavailableError);
    await expect(down.list()).rejects.toThrow(new RegExp(`at ${nowhere}: .*ECONNREFUSED`));
  });
});
