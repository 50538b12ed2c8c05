import { freePort, makeTempDir, REPO_ROOT } from '@pra-kit/shared/testing';
import * as Minio from 'minio';
import { ChildProcess, spawn } from 'node:child_process';
import { createDecipheriv, createHash } from 'node:crypto';
import { Agent } from 'node:http';
import type { S3StoreOptions } from '../../src/stores/s3.store';

/** s3rver accepts this key pair (it checks the access key id; it does not verify V4 signatures). */
export const S3_ACCESS_KEY = 'S3RVER';
export const S3_SECRET_KEY = 'S3RVER';

/**
 * A real S3 HTTP server (s3rver) in a child process, its objects in a temp directory. `kill9()` and
 * `start()` take it down and bring it back on the same port with the same objects: an outage.
 */
export interface S3TestServer {
  readonly port: number;
  readonly endpoint: string;
  /** Starts (again) on the same port and directory. */
  start(): Promise<void>;
  /** SIGKILL: the endpoint refuses connections until `start()`. */
  kill9(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
  /** A second, independent client (the `minio` npm package) to check what the agent stored. */
  readonly minio: Minio.Client;
  /** The env the agent needs to use this server. */
  env(bucket: string, extra?: Record<string, string>): Record<string, string>;
  /** S3Store options for this server, on a new bucket name unless given. */
  storeOptions(overrides?: Partial<S3StoreOptions>): S3StoreOptions;
}

let buckets = 0;
/** A bucket name no other test uses. */
export function newBucketName(label: string): string {
  return `${label}-${process.pid}-${++buckets}`;
}

const SERVER_SCRIPT = `
const S3rver = require('s3rver');
const [port, dir] = process.argv.slice(1);
new S3rver({ port: Number(port), address: '127.0.0.1', silent: true, directory: dir })
  .run()
  .then((a) => process.stdout.write('listening ' + a.port + '\\n'), (e) => { console.error(e); process.exit(1); });
`;

export async function startS3Server(): Promise<S3TestServer> {
  const port = await freePort();
  const dir = makeTempDir('s3rver');
  let child: ChildProcess | null = null;
  const server: S3TestServer = {
    port,
    endpoint: `http://127.0.0.1:${port}`,
    minio: new Minio.Client({
      endPoint: '127.0.0.1',
      port,
      useSSL: false,
      accessKey: S3_ACCESS_KEY,
      secretKey: S3_SECRET_KEY,
      region: 'us-east-1',
      pathStyle: true,
      // A fresh connection per request: s3rver closes idle ones, and a reused one that it closed
      // fails with "socket hang up" (the agent's own client retries; this checker should not have to).
      transportAgent: new Agent({ keepAlive: false }),
    }),
    async start() {
      const proc = spawn(process.execPath, ['-e', SERVER_SCRIPT, String(port), dir.path], {
        cwd: REPO_ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let output = '';
      await new Promise<void>((resolve, reject) => {
        proc.stdout?.on('data', (d) => {
          output += String(d);
          if (output.includes('listening')) resolve();
        });
        proc.stderr?.on('data', (d) => (output += String(d)));
        proc.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${output}`)));
      });
    },
    async kill9() {
      const proc = child;
      child = null;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGKILL');
      await exited;
    },
    async close() {
      await server.kill9();
      dir.remove();
    },
    env(bucket, extra = {}) {
      return {
        S3_ENDPOINT: server.endpoint,
        S3_REGION: 'us-east-1',
        S3_BUCKET: bucket,
        S3_ACCESS_KEY_ID: S3_ACCESS_KEY,
        S3_SECRET_ACCESS_KEY: S3_SECRET_KEY,
        S3_FORCE_PATH_STYLE: 'true',
        ...extra,
      };
    },
    storeOptions(overrides = {}) {
      return {
        endpoint: server.endpoint,
        region: 'us-east-1',
        bucket: newBucketName('store'),
        prefix: 'pra/',
        accessKeyId: S3_ACCESS_KEY,
        secretAccessKey: S3_SECRET_KEY,
        forcePathStyle: true,
        createBucket: true,
        encryptionKey: null,
        ...overrides,
      };
    },
  };
  await server.start();
  return server;
}

/** An object's bytes, read with the minio client. */
export async function readObject(client: Minio.Client, bucket: string, key: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await client.getObject(bucket, key)) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** Object names under a prefix, read with the minio client. */
export async function listObjectNames(client: Minio.Client, bucket: string, prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for await (const o of client.listObjectsV2(bucket, prefix, true)) names.push((o as { name: string }).name);
  return names.sort();
}

export const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

/**
 * Decrypts an object written in the documented format (README, offsite.cipher.ts), written here
 * from the format and not with the agent's code, so the test checks the format itself:
 * magic(8) | key id(8) | IV(12) | ciphertext | tag(16), AAD = header || backup id.
 */
export function decryptObject(object: Buffer, key: Buffer, backupId: string): Buffer {
  expect(object.subarray(0, 8).toString('ascii')).toBe('PRAKENC1');
  const header = object.subarray(0, 28);
  const decipher = createDecipheriv('aes-256-gcm', key, header.subarray(16, 28));
  decipher.setAAD(Buffer.concat([header, Buffer.from(backupId)]));
  decipher.setAuthTag(object.subarray(object.length - 16));
  return Buffer.concat([decipher.update(object.subarray(28, object.length - 16)), decipher.final()]);
}
