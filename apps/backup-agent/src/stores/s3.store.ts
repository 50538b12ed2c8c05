import {
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
} from '@aws-sdk/client-s3';
import {
  BackupManifest,
  compareBackupIds,
  normalizeBackupId,
  parseBackupId,
  parseManifestText,
  serializeManifest,
} from '@pra-kit/shared';
import { createHash, Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { PassThrough, Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BackupStore, StoredBackup } from '../core/backup.store';
import {
  BackupConflictError,
  BackupCorruptError,
  BackupDomainError,
  BackupNotFoundError,
  OffsiteBucketMissingError,
  OffsiteUnavailableError,
} from '../core/errors';
import { ENCRYPTION_ALGORITHM, OffsiteCipher } from './offsite.cipher';
import { Logger, silentLogger } from '../core/ports';
import { httpStatus, S3Bucket, S3StoreOptions } from './s3.bucket';

export type { S3StoreOptions } from './s3.bucket';

/**
 * Backups in an S3 bucket (AWS S3, MinIO, or any S3 API): `<prefix><id>.db` holds the backup's
 * bytes (AES-256-GCM ciphertext when a key is set, see offsite.cipher.ts) and `<prefix><id>.json`
 * its manifest, in clear so the catalog can be read without the key.
 *
 * - The data object goes first, the manifest last: a backup is listed only when both exist, so an
 *   upload cut short (a killed agent, a lost connection) is never listed, and is redone later.
 * - The data object carries the plaintext's sha256 as metadata (`x-amz-meta-sha256`), with its
 *   size, the encryption algorithm and key id: any S3 client can check an object against its
 *   manifest without downloading it.
 * - `put` never replaces an object holding another backup (same id, other sha256): it refuses with
 *   BackupConflictError. The same backup again is a no-op (or a re-upload when the stored copy is
 *   incomplete or encrypted with another key).
 * - SDK errors become domain errors naming the bucket and endpoint: OffsiteAccessDeniedError,
 *   OffsiteBucketMissingError, OffsiteUnavailableError. The SDK does not retry (maxAttempts 1):
 *   the replicator is the one place that retries, with its own backoff.
 */
export class S3Store implements BackupStore {
  readonly kind = 's3' as const;
  readonly location: string;
  /** Where the bucket is, for messages: the endpoint URL or "AWS S3 (<region>)". */
  readonly endpointName: string;
  readonly bucket: S3Bucket;
  private readonly client: S3Bucket['client'];
  private readonly cipher: OffsiteCipher | null;
  /** Manifests never change once written: cached by object key and ETag, so a listing costs one request. */
  private readonly manifests = new Map<string, { etag: string; manifest: BackupManifest | null }>();

  constructor(
    private readonly options: S3StoreOptions,
    private readonly logger: Logger = silentLogger,
    bucket: S3Bucket = new S3Bucket(options),
  ) {
    this.bucket = bucket;
    this.location = bucket.location;
    this.endpointName = bucket.endpointName;
    this.cipher = bucket.cipher;
    this.client = bucket.client;
  }

  /** True when backups are encrypted before they leave (S3_ENCRYPTION_KEY is set). */
  get encrypted(): boolean {
    return this.cipher !== null;
  }

  close(): void {
    this.bucket.close();
  }

  /** Checks that the bucket can be used; creates it when it is missing and that is allowed. */
  async prepare(): Promise<void> {
    const { bucket } = this.options;
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return;
    } catch (err) {
      if (httpStatus(err) !== 404) throw this.failure(err, 'use the bucket');
    }
    if (!this.options.createBucket) {
      throw new OffsiteBucketMissingError(
        `bucket "${bucket}" does not exist at ${this.endpointName}: create it, or set S3_CREATE_BUCKET=true`,
      );
    }
    try {
      await this.client.send(new CreateBucketCommand({ Bucket: bucket }));
      this.logger.log(`created bucket "${bucket}" at ${this.endpointName} for offsite copies`);
    } catch (err) {
      if ((err as Error).name !== 'BucketAlreadyOwnedByYou') throw this.failure(err, 'create the bucket');
    }
  }

  async list(): Promise<StoredBackup[]> {
    const objects = await this.listObjects();
    const backups: StoredBackup[] = [];
    for (const [id, { data, manifest: manifestObject }] of objects) {
      if (!data || !manifestObject) continue; // an upload in progress or cut short: not a backup yet
      const backup = await this.describe(id, data.size, manifestObject.etag);
      if (backup) backups.push(backup);
    }
    return backups.sort((a, b) => compareBackupIds(b.id, a.id));
  }

  async stat(id: string): Promise<StoredBackup | null> {
    const wanted = normalizeBackupId(id);
    return (await this.list()).find((b) => b.id === wanted) ?? null;
  }

  async put(manifest: BackupManifest, sourceFile: string): Promise<void> {
    const id = normalizeBackupId(manifest.id);
    const { size } = await stat(sourceFile);
    if (size !== manifest.size) {
      throw new BackupCorruptError(
        id,
        `the local file has ${size} bytes, its manifest says ${manifest.size}: not uploaded`,
      );
    }
    const expectedSize = this.cipher ? OffsiteCipher.encryptedSize(size) : size;
    const existing = await this.head(this.dataKey(id));
    if (existing) {
      const storedSha = existing.Metadata?.['sha256'];
      if (storedSha !== manifest.sha256) {
        throw new BackupConflictError(
          id,
          `${this.location}${id}.db already holds another backup (sha256 ${storedSha ?? 'unknown'}, ` +
            `this one has ${manifest.sha256}); it was left as it is`,
        );
      }
    }
    const complete =
      existing &&
      existing.ContentLength === expectedSize &&
      (existing.Metadata?.['key-id'] ?? 'none') === (this.cipher?.keyId ?? 'none');
    if (!complete) await this.upload(id, manifest, sourceFile, expectedSize, !existing);
    const body = Buffer.from(serializeManifest(manifest));
    await this.call(`write the manifest of ${id} to`, () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.manifestKey(id),
          Body: body,
          ContentLength: body.length,
          ContentType: 'application/json',
          Metadata: { sha256: manifest.sha256, 'backup-id': id },
        }),
      ),
    );
  }

  async fetch(id: string, destFile: string): Promise<BackupManifest> {
    const found = await this.stat(id);
    const wanted = normalizeBackupId(id);
    if (!found) throw new BackupNotFoundError(wanted, `in ${this.location}`);
    if (!found.manifest)
      throw new BackupNotFoundError(wanted, `with a valid manifest in ${this.location} (${found.problem})`);
    let object;
    try {
      object = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.dataKey(wanted) }),
      );
    } catch (err) {
      if (httpStatus(err) === 404)
        throw new BackupNotFoundError(wanted, `in ${this.location} (removed meanwhile)`);
      throw this.failure(err, `download ${wanted} from`);
    }
    try {
      await pipeline(
        object.Body as Readable,
        OffsiteCipher.decryptor(this.cipher, wanted, this.location),
        createWriteStream(destFile),
      );
    } catch (err) {
      await rm(destFile, { force: true });
      throw this.failure(err, `download ${wanted} from`);
    }
    return found.manifest;
  }

  async remove(id: string): Promise<void> {
    const wanted = normalizeBackupId(id);
    // The manifest goes first: from then on the backup is no longer listed, whatever happens next.
    for (const key of [this.manifestKey(wanted), this.dataKey(wanted)]) {
      await this.call(`delete ${key} from`, () =>
        this.client.send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: key })),
      );
      this.manifests.delete(key);
    }
  }

  private dataKey(id: string): string {
    return `${this.options.prefix}${id}.db`;
  }

  private manifestKey(id: string): string {
    return `${this.options.prefix}${id}.json`;
  }

  /**
   * Streams the backup to `<id>.db`: file -> sha256 of the plaintext -> encryption (when on) -> MD5
   * of what is sent -> PUT with a known Content-Length. The sha256 proves the local file still is
   * the backup its manifest describes; the MD5, compared with the ETag, that the bytes arrived.
   * Either failing deletes the object, so a bad copy never gets a manifest.
   */
  private async upload(
    id: string,
    manifest: BackupManifest,
    sourceFile: string,
    expectedSize: number,
    isNew: boolean,
  ): Promise<void> {
    const plainSha = createHash('sha256');
    const sentMd5 = createHash('md5');
    const body = new PassThrough();
    let readError: unknown = null;
    const feeding = pipeline(
      createReadStream(sourceFile, { highWaterMark: 1024 * 1024 }),
      hashing(plainSha),
      ...(this.cipher ? [this.cipher.encryptor(id)] : []),
      hashing(sentMd5),
      body,
    ).catch((err) => {
      readError = err;
    });
    let etag: string | undefined;
    try {
      const result = await this.client.send(
        new PutObjectCommand({
          Bucket: this.options.bucket,
          Key: this.dataKey(id),
          Body: body,
          ContentLength: expectedSize,
          ContentType: 'application/octet-stream',
          // On S3 and recent MinIO, a concurrent writer cannot slip in between our check and this PUT.
          ...(isNew ? { IfNoneMatch: '*' } : {}),
          Metadata: {
            'backup-id': id,
            sha256: manifest.sha256,
            size: String(manifest.size),
            encryption: this.cipher ? ENCRYPTION_ALGORITHM : 'none',
            ...(this.cipher ? { 'key-id': this.cipher.keyId } : {}),
          },
        }),
      );
      etag = result.ETag;
    } catch (err) {
      body.destroy();
      await feeding;
      if (httpStatus(err) === 412) {
        // Someone else stored this id meanwhile: compare again (a conflict if it is another backup).
        const now = await this.head(this.dataKey(id));
        if (now?.Metadata?.['sha256'] === manifest.sha256) return;
        throw new BackupConflictError(id, `${this.location}${id}.db was written by someone else meanwhile`);
      }
      throw this.failure(readError ?? err, `upload ${id} to`);
    }
    await feeding;
    const sha = plainSha.digest('hex');
    const md5 = sentMd5.digest('hex');
    const storedMd5 = etag?.replace(/"/g, '');
    let problem: BackupDomainError | null = null;
    if (readError || sha !== manifest.sha256) {
      problem = new BackupCorruptError(
        id,
        `the local file does not match its manifest (sha256 ${sha}, manifest ${manifest.sha256}): not uploaded`,
      );
    } else if (storedMd5 && /^[0-9a-f]{32}$/.test(storedMd5) && storedMd5 !== md5) {
      problem = new OffsiteUnavailableError(
        `upload of ${id} to ${this.location} was damaged in transit (MD5 ${storedMd5}, sent ${md5})`,
      );
    }
    if (problem) {
      await this.client
        .send(new DeleteObjectCommand({ Bucket: this.options.bucket, Key: this.dataKey(id) }))
        .catch(() => undefined);
      throw problem;
    }
  }

  /**
   * Objects directly under the prefix that look like ours, grouped by backup id (with a delimiter:
   * the replication chains under `chains/` are not enumerated here).
   */
  private async listObjects(): Promise<Map<string, { data?: ObjectInfo; manifest?: ObjectInfo }>> {
    const byId = new Map<string, { data?: ObjectInfo; manifest?: ObjectInfo }>();
    const { objects } = await this.bucket.list(this.options.prefix, '/');
    for (const o of objects) {
      const name = o.key.slice(this.options.prefix.length);
      const match = /^(.+)\.(db|json)$/.exec(name);
      const parsed = match ? parseBackupId(match[1]) : null;
      if (!match || !parsed || parsed.id !== match[1]) continue;
      const entry = byId.get(parsed.id) ?? {};
      entry[match[2] === 'db' ? 'data' : 'manifest'] = { size: o.size, etag: o.etag };
      byId.set(parsed.id, entry);
    }
    return byId;
  }

  /**
   * A listed backup: its manifest (cached), checked against the data object's size. null when the
   * manifest vanished since the listing (a removal in progress).
   */
  private async describe(id: string, dataSize: number, manifestEtag: string): Promise<StoredBackup | null> {
    const key = this.manifestKey(id);
    let cached = this.manifests.get(key);
    if (!cached || cached.etag !== manifestEtag) {
      const read = await this.readManifest(id);
      if (read === undefined) return null;
      cached = { etag: manifestEtag, manifest: read };
      this.manifests.set(key, cached);
    }
    const m = cached.manifest;
    const createdAt = new Date(m ? m.created_at : (parseBackupId(id)?.seconds ?? 0) * 1000);
    const unusable = (problem: string): StoredBackup => ({
      id,
      size: dataSize,
      createdAt,
      manifest: null,
      problem,
    });
    if (!m) return unusable('manifest unreadable');
    if (dataSize !== m.size && dataSize !== OffsiteCipher.encryptedSize(m.size)) {
      return unusable(`object size ${dataSize} does not fit the manifest (${m.size} bytes)`);
    }
    return { id, size: m.size, createdAt, manifest: m };
  }

  /** The manifest object parsed; null when it is not a valid manifest of `id`; undefined when gone. */
  private async readManifest(id: string): Promise<BackupManifest | null | undefined> {
    let text: string;
    try {
      const res = await this.client.send(
        new GetObjectCommand({ Bucket: this.options.bucket, Key: this.manifestKey(id) }),
      );
      text = await (res.Body as { transformToString(): Promise<string> }).transformToString();
    } catch (err) {
      if (httpStatus(err) === 404) return undefined;
      throw this.failure(err, `read the manifest of ${id} from`);
    }
    const manifest = parseManifestText(text);
    return manifest && manifest.id === id ? manifest : null;
  }

  private head(key: string) {
    return this.bucket.head(key);
  }

  private call<T>(action: string, request: () => Promise<T>): Promise<T> {
    return this.bucket.call(action, request);
  }

  private failure(err: unknown, action: string): Error {
    return this.bucket.failure(err, action);
  }
}

interface ObjectInfo {
  readonly size: number;
  readonly etag: string;
}

function hashing(hash: Hash): Transform {
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      done(null, chunk);
    },
  });
}
