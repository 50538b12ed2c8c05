import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  HeadObjectCommandOutput,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  BackupDomainError,
  OffsiteAccessDeniedError,
  OffsiteBucketMissingError,
  OffsiteUnavailableError,
} from '../core/errors';
import { OffsiteCipher } from './offsite.cipher';

export interface S3StoreOptions {
  /** e.g. `http://minio:9000`; undefined = AWS S3 for `region`. */
  readonly endpoint?: string;
  readonly region: string;
  readonly bucket: string;
  /** '' or ending with '/': objects are `<prefix><id>.db` and `<prefix><id>.json`. */
  readonly prefix: string;
  /** Both or neither; neither = the SDK's default credential chain (env, IRSA, instance role). */
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  /** `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key` (MinIO needs it). */
  readonly forcePathStyle: boolean;
  /** Create the bucket when it does not exist (S3_CREATE_BUCKET). */
  readonly createBucket: boolean;
  /** 32 bytes: client-side AES-256-GCM of the backup bytes; null = stored as is. */
  readonly encryptionKey: Buffer | null;
}

/** A request that gets no byte for this long fails (the replicator retries it later). */
const CONNECT_TIMEOUT_MS = 5_000;
const IDLE_TIMEOUT_MS = 60_000;

export interface ObjectInfo {
  readonly key: string;
  readonly size: number;
  readonly etag: string;
}

/**
 * One bucket, shared by the stores that keep things in it (backups: s3.store.ts; replication
 * chains: s3-chain.store.ts): the S3 client, the client-side cipher, and the translation of SDK
 * errors into domain errors that name the bucket and the endpoint (OffsiteAccessDeniedError,
 * OffsiteBucketMissingError, OffsiteUnavailableError). The SDK does not retry (maxAttempts 1): the
 * offsite workers are the one place that retries, with their own backoff.
 */
export class S3Bucket {
  readonly client: S3Client;
  readonly cipher: OffsiteCipher | null;
  /** Where the bucket is, for messages: the endpoint URL or "AWS S3 (<region>)". */
  readonly endpointName: string;
  readonly location: string;

  constructor(readonly options: S3StoreOptions) {
    this.location = `s3://${options.bucket}/${options.prefix}`;
    this.endpointName = options.endpoint ?? `AWS S3 (${options.region})`;
    this.cipher = options.encryptionKey ? new OffsiteCipher(options.encryptionKey) : null;
    this.client = new S3Client({
      region: options.region,
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      forcePathStyle: options.forcePathStyle,
      ...(options.accessKeyId && options.secretAccessKey
        ? { credentials: { accessKeyId: options.accessKeyId, secretAccessKey: options.secretAccessKey } }
        : {}),
      maxAttempts: 1,
      // Plain PUTs with a Content-Length: understood by every S3 implementation (MinIO, s3rver);
      // integrity is checked end to end instead (sha256 of the plaintext, MD5 against the ETag).
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: { connectionTimeout: CONNECT_TIMEOUT_MS, requestTimeout: IDLE_TIMEOUT_MS },
    });
  }

  get bucket(): string {
    return this.options.bucket;
  }

  get prefix(): string {
    return this.options.prefix;
  }

  close(): void {
    this.client.destroy();
  }

  /** Runs one SDK call, with its errors translated (see `failure`). */
  async call<T>(action: string, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (err) {
      throw this.failure(err, action);
    }
  }

  async head(key: string): Promise<HeadObjectCommandOutput | null> {
    try {
      return await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw this.failure(err, `check ${key} in`);
    }
  }

  /** Every object under `prefix`; with a delimiter, the "folders" below it as `prefixes`. */
  async list(prefix: string, delimiter?: string): Promise<{ objects: ObjectInfo[]; prefixes: string[] }> {
    const objects: ObjectInfo[] = [];
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.call('list', () =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: prefix,
            Delimiter: delimiter,
            ContinuationToken: token,
          }),
        ),
      );
      for (const o of page.Contents ?? [])
        objects.push({ key: o.Key ?? '', size: o.Size ?? 0, etag: o.ETag ?? '' });
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return { objects, prefixes };
  }

  /** An object's bytes, its ETag and metadata; null when it does not exist. */
  async get(key: string): Promise<{ bytes: Buffer; etag: string; metadata: Record<string, string> } | null> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      const bytes = Buffer.from(
        await (res.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray(),
      );
      return { bytes, etag: res.ETag ?? '', metadata: res.Metadata ?? {} };
    } catch (err) {
      if (httpStatus(err) === 404) return null;
      throw this.failure(err, `read ${key} from`);
    }
  }

  /**
   * Writes a small object in one PUT and checks the stored MD5 (the ETag) against what was sent.
   * `ifNew`: only when no object has that key (S3 and recent MinIO refuse with 412 otherwise).
   */
  async put(
    key: string,
    body: Buffer,
    metadata: Record<string, string>,
    ifNew = false,
  ): Promise<'written' | 'exists'> {
    let etag: string | undefined;
    try {
      const res = await this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: body,
          ContentLength: body.length,
          ContentType: 'application/octet-stream',
          Metadata: metadata,
          ...(ifNew ? { IfNoneMatch: '*' } : {}),
        }),
      );
      etag = res.ETag;
    } catch (err) {
      if (ifNew && httpStatus(err) === 412) return 'exists';
      throw this.failure(err, `write ${key} to`);
    }
    const stored = etag?.replace(/"/g, '');
    const sent = createHash('md5').update(body).digest('hex');
    if (stored && /^[0-9a-f]{32}$/.test(stored) && stored !== sent) {
      await this.delete(key).catch(() => undefined);
      throw new OffsiteUnavailableError(
        `${key} was damaged on its way to ${this.location} (MD5 ${stored}, sent ${sent})`,
      );
    }
    return 'written';
  }

  async delete(key: string): Promise<void> {
    await this.call(`delete ${key} from`, () =>
      this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })),
    );
  }

  /** `plain` encrypted for the object named `id` (as is when no key is set). */
  async seal(id: string, plain: Buffer): Promise<Buffer> {
    if (!this.cipher) return plain;
    return collect(Readable.from([plain]), this.cipher.encryptor(id));
  }

  /**
   * The plaintext of an object named `id`: decrypted and authenticated (BackupCorruptError when it
   * was modified; EncryptionKeyError when the key is missing or another one), or as is when it was
   * stored without encryption.
   */
  async open(id: string, sealed: Buffer): Promise<Buffer> {
    return collect(Readable.from([sealed]), OffsiteCipher.decryptor(this.cipher, id, this.location));
  }

  /** An SDK or network error as a domain error that names the bucket and the endpoint. */
  failure(err: unknown, action: string): Error {
    if (err instanceof BackupDomainError) return err;
    const e = err as { name?: string; code?: string; message?: string; errors?: { message?: string }[] };
    const status = httpStatus(err);
    const detail = describeError(e, status);
    const where = `${this.location} at ${this.endpointName}`;
    if (e.name === 'NoSuchBucket') {
      return new OffsiteBucketMissingError(
        `cannot ${action} ${where}: bucket "${this.bucket}" does not exist`,
      );
    }
    if (status === 301 || e.name === 'PermanentRedirect' || e.name === 'AuthorizationHeaderMalformed') {
      return new OffsiteUnavailableError(
        `cannot ${action} ${where}: the bucket is in another region (${detail}); check S3_REGION`,
      );
    }
    if (
      status === 401 ||
      status === 403 ||
      ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'CredentialsProviderError'].includes(
        e.name ?? '',
      )
    ) {
      return new OffsiteAccessDeniedError(
        `cannot ${action} ${where}: access denied (${detail}); check S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY`,
      );
    }
    return new OffsiteUnavailableError(`cannot ${action} ${where}: ${detail}`);
  }
}

async function collect(source: Readable, transform: NodeJS.ReadWriteStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  await pipeline(source, transform, async (stream: AsyncIterable<Buffer | string>) => {
    for await (const chunk of stream) chunks.push(Buffer.from(chunk));
  });
  return Buffer.concat(chunks);
}

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

function describeError(
  e: { name?: string; code?: string; message?: string; errors?: { message?: string }[] },
  status: number | undefined,
): string {
  // HEAD answers have no body: the SDK then only knows the status ("UnknownError", "NotFound").
  if (status !== undefined && (!e.message || e.message === 'UnknownError' || e.name === 'Unknown'))
    return `HTTP ${status}`;
  const message = (e.message || (e.errors ?? []).map((x) => x.message).join('; ') || 'no detail').replace(
    /^AWS SDK error wrapper for (Error: )?/,
    '',
  );
  const label = e.code ?? (e.name && e.name !== 'Error' ? e.name : undefined);
  return label && !message.includes(label) ? `${label}: ${message}` : message;
}
