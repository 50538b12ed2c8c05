import { freePort, makeTempDir, REPO_ROOT } from '@pra-kit/shared/testing';
import { ChildProcess, spawn } from 'node:child_process';

const SERVER_SCRIPT = `
const S3rver = require('s3rver');
const [port, dir] = process.argv.slice(1);
new S3rver({ port: Number(port), address: '127.0.0.1', silent: true, directory: dir })
  .run()
  .then((a) => process.stdout.write('listening ' + a.port + '\\n'), (e) => { console.error(e); process.exit(1); });
`;

/**
 * A real S3 HTTP server (s3rver) in a child process, for the agent's offsite copies. `kill9()` takes
 * it down for good: the agent's uploads then wait and are retried, as during an outage.
 */
export async function startS3rver(): Promise<{
  env(bucket: string): Record<string, string>;
  kill9(): Promise<void>;
  close(): Promise<void>;
}> {
  const port = await freePort();
  const dir = makeTempDir('console-s3rver');
  const child: ChildProcess = spawn(process.execPath, ['-e', SERVER_SCRIPT, String(port), dir.path], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (d) => {
      output += String(d);
      if (output.includes('listening')) resolve();
    });
    child.stderr?.on('data', (d) => (output += String(d)));
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}: ${output}`)));
  });
  const kill9 = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;
  };
  return {
    env: (bucket) => ({
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_REGION: 'us-east-1',
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: 'S3RVER', // s3rver checks the key id, not the V4 signature
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      S3_FORCE_PATH_STYLE: 'true',
      BACKUP_OFFSITE_RETRY_BASE_MS: '200',
      BACKUP_OFFSITE_RETRY_MAX_MS: '2000',
    }),
    kill9,
    close: async () => {
      await kill9();
      dir.remove();
    },
  };
}
