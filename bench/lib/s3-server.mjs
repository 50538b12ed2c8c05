// A real S3 HTTP server for the benchmarks: s3rver (a development dependency, also used by the
// tests and the drill) in its own process on loopback, its objects in a directory. It can be
// stopped and started again on the same port and directory (the bucket survives).
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { Agent } from 'node:http';
import * as Minio from 'minio';
import { freePort, REPO_ROOT } from './services.mjs';

/** s3rver checks the access key id, not the V4 signatures. */
const KEY = 'S3RVER';

const SERVER_SCRIPT = `
const S3rver = require('s3rver');
const [port, dir] = process.argv.slice(1);
new S3rver({ port: Number(port), address: '127.0.0.1', silent: true, directory: dir })
  .run()
  .then(() => process.stdout.write('listening\\n'), (e) => { console.error(e); process.exit(1); });
`;

/** Starts s3rver on a free port with its objects in `dir`; `env` is added to its environment. */
export async function startS3Server(dir, env = {}) {
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  let child = null;
  const server = {
    endpoint,
    get pid() {
      return child?.pid;
    },
    /** (Re)starts it on the same port and directory, with `withEnv` added to its environment. */
    async start(withEnv = {}) {
      // s3rver makes the continuation token of a listing longer than 1000 keys with DES, which
      // OpenSSL 3 only has in its legacy provider (without it, such a listing is a 500).
      const args = ['--openssl-legacy-provider', '-e', SERVER_SCRIPT, String(port), dir];
      const proc = spawn(process.execPath, args, {
        cwd: REPO_ROOT,
        env: { PATH: process.env.PATH, ...withEnv },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = proc;
      let output = '';
      await new Promise((resolve, reject) => {
        proc.stdout.on('data', (d) => {
          output += d;
          if (output.includes('listening')) resolve();
        });
        proc.stderr.on('data', (d) => (output += d));
        proc.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${output}`)));
      });
    },
    async stop() {
      const proc = child;
      child = null;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGTERM');
      await exited;
    },
    /** What the agent needs to use this server (S3_* variables), for `bucket`. */
    agentEnv(bucket) {
      return {
        S3_ENDPOINT: endpoint,
        S3_REGION: 'us-east-1',
        S3_BUCKET: bucket,
        S3_PREFIX: 'pra/',
        S3_ACCESS_KEY_ID: KEY,
        S3_SECRET_ACCESS_KEY: KEY,
        S3_FORCE_PATH_STYLE: 'true',
      };
    },
    /**
     * Every object of a bucket, as S3 lists them: [{ key, size }]. Read with another client than
     * the agent's (the `minio` package, as the tests do).
     */
    async list(bucket) {
      const client = new Minio.Client({
        endPoint: '127.0.0.1',
        port,
        useSSL: false,
        accessKey: KEY,
        secretKey: KEY,
        region: 'us-east-1',
        pathStyle: true,
        transportAgent: new Agent({ keepAlive: false }), // s3rver closes idle connections
      });
      const objects = [];
      for await (const o of client.listObjectsV2(bucket, '', true))
        objects.push({ key: o.name, size: o.size });
      return objects;
    },
  };
  await server.start(env);
  return server;
}
