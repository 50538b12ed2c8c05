import { BackupRef, backupRefArgs } from '@pra-kit/shared';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { http, pollUntil, sleep } from '../http';
import { freePort } from '../free-port';
import { repoRoot } from '../repo-root';
import { parseRestoreOutput, runCommand } from './command-runner';
import { DAMAGE_DB_SCRIPT } from './damage-db';
import { DrillTarget, RestoreOutcome } from './drill-target';

export interface LocalTargetOptions {
  /** API and agent of a running `make dev`; when nothing answers there, a private instance is started. */
  readonly apiUrl: string;
  readonly agentUrl: string;
  /** The var directory of the running `make dev` (pid files, data, backups). */
  readonly varDir: string;
  readonly token: string | undefined;
  /** Environment for the agent's one-shot commands (S3_* for offsite). */
  readonly env: NodeJS.ProcessEnv;
  /** Snapshot schedule of a private instance; empty: the agent's default. */
  readonly privateSchedule: string;
  /** The agent must restore a missing database at start (data-loss --auto). */
  readonly autoRestore?: boolean;
  readonly log: (line: string) => void;
}

/**
 * The processes of `make dev` (tools/dev.mjs): the supervisor restarts a killed API like Kubernetes
 * restarts a container; `var/run/api.hold` keeps it down like a scale to 0; the data and backup
 * "volumes" are var/data and var/backup; the restore is the agent's one-shot `restore --offline`,
 * exactly what the restore Job runs in the cluster.
 *
 * When no `make dev` is running, the target starts a private one under var/drill/<run> on free
 * ports (with its own local S3 server when the scenario needs offsite copies) and stops it after.
 */
export class LocalTarget implements DrillTarget {
  readonly name = 'local' as const;
  private api: string;
  private agent: string;
  private varDir: string;
  private supervisor: ChildProcess | null = null;
  private s3: { close: () => Promise<void> } | null = null;
  private env: NodeJS.ProcessEnv;

  constructor(
    private readonly options: LocalTargetOptions,
    private readonly runId: string,
    private readonly needsOffsite: boolean,
  ) {
    this.api = options.apiUrl;
    this.agent = options.agentUrl;
    this.varDir = options.varDir;
    this.env = { ...options.env };
  }

  get description(): string {
    return this.supervisor
      ? `a private local instance under ${this.varDir} (tools/dev.mjs, ${
          this.options.privateSchedule
            ? `snapshots "${this.options.privateSchedule}"`
            : "the agent's default schedule"
        })`
      : `the running make dev processes under ${this.varDir}`;
  }

  get token(): string | undefined {
    return this.options.token;
  }

  get offsite(): boolean {
    return Boolean(this.env['S3_BUCKET']);
  }

  apiUrl(): string {
    return this.api;
  }

  agentUrl(): string {
    return this.agent;
  }

  async setup(): Promise<void> {
    const running = await http(`${this.api}/health`, { timeoutMs: 1000 }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (running && existsSync(this.pidFile('api'))) {
      if (this.options.autoRestore && !(await this.agentRestoresAtStart())) {
        throw new Error(
          '--auto needs the agent to restore at start: run make dev with BACKUP_AUTO_RESTORE=latest, or stop make dev to let the drill start its own',
        );
      }
      if (this.needsOffsite && !this.offsite) {
        throw new Error(
          'this scenario needs offsite copies: run make dev with S3_* set, or stop make dev to let the drill start its own',
        );
      }
      return;
    }
    await this.startPrivateInstance();
  }

  async teardown(): Promise<void> {
    if (this.supervisor) {
      const exited = new Promise((r) => this.supervisor?.once('exit', r));
      this.supervisor.kill('SIGTERM');
      await exited;
      this.supervisor = null;
    }
    await this.s3?.close();
  }

  async killApi(): Promise<string> {
    const pid = this.readPid('api');
    process.kill(pid, 'SIGKILL');
    return `kill -9 ${pid} (the API process)`;
  }

  /**
   * The local "scale to 0": the API and the agent both stop and are held down, like the pod's two
   * containers. An offline restore is refused while any process has the database open, and a
   * serving agent may (it reads the live database).
   */
  async stopApi(): Promise<void> {
    const names = ['api', 'backup-agent'];
    for (const name of names) writeFileSync(this.holdFile(name), 'held by the drill\n');
    const pids = names.map((name) => this.readPid(name));
    for (const pid of pids) if (isAlive(pid)) process.kill(pid, 'SIGTERM');
    await pollUntil('the API and the agent to stop', async () => (pids.some(isAlive) ? undefined : true), {
      timeoutMs: 15_000,
    });
  }

  async startApi(): Promise<void> {
    rmSync(this.holdFile('api'), { force: true });
    rmSync(this.holdFile('backup-agent'), { force: true });
  }

  /** Like a pod rescheduled: both processes die at once; the supervisor starts them again. */
  async restartPod(): Promise<string> {
    const pids = ['api', 'backup-agent'].map((name) => this.readPid(name));
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    return `kill -9 ${pids.join(' ')} (the API and the agent: the pod restarts)`;
  }

  async destroyDataVolume(): Promise<string> {
    const dir = join(this.varDir, 'data');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return `rm -rf ${dir}`;
  }

  async destroyBackupVolume(): Promise<string> {
    const dir = join(this.varDir, 'backup');
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    return `rm -rf ${dir}`;
  }

  async restoreOffline(ref: BackupRef, from: 'local' | 's3'): Promise<RestoreOutcome> {
    const args = [
      join(repoRoot(), 'dist/apps/backup-agent/main.js'),
      'restore',
      ...backupRefArgs(ref),
      '--offline',
      '--from',
      from,
    ];
    // A one-shot backup may hold the operation lock: retry on "busy" (5). The API and the agent
    // are stopped (stopApi), so "the database is in use" (5 too) should not last; if it does, the
    // last message says so. Asynchronous on purpose: the local S3 server of a backup-loss drill
    // runs in this process.
    for (let attempt = 1; ; attempt++) {
      const run = await runCommand(process.execPath, args, undefined, this.agentEnv());
      if (run.code === 0) {
        const { restored } = parseRestoreOutput(run.stdout);
        return { id: restored.id, createdAt: restored.created_at, rows: restored.rows, from: restored.from };
      }
      if (run.code !== 5 || attempt >= 20) {
        throw new Error(`restore --offline failed (exit ${run.code}): ${run.stderr.trim()}`);
      }
      await sleep(250);
    }
  }

  async corruptDatabase(): Promise<string> {
    const dbPath = join(this.varDir, 'data', 'app.db');
    const run = spawnSync(process.execPath, ['-e', DAMAGE_DB_SCRIPT, dbPath], {
      cwd: repoRoot(),
      encoding: 'utf8',
    });
    if (run.status !== 0) throw new Error(`could not damage ${dbPath}: ${run.stderr}`);
    return `${run.stdout.trim()} in ${dbPath}`;
  }

  private async agentRestoresAtStart(): Promise<boolean> {
    const res = await http<{ auto_restore?: { enabled?: boolean } }>(`${this.agent}/ready`).catch(() => null);
    return res?.body.auto_restore?.enabled === true;
  }

  private agentEnv(): NodeJS.ProcessEnv {
    return {
      ...this.env,
      DB_PATH: join(this.varDir, 'data', 'app.db'),
      BACKUP_DIR: join(this.varDir, 'backup'),
    };
  }

  private async startPrivateInstance(): Promise<void> {
    this.varDir = join(repoRoot(), 'var', 'drill', this.runId);
    const [apiPort, agentPort] = [await freePort(), await freePort()];
    this.api = `http://127.0.0.1:${apiPort}`;
    this.agent = `http://127.0.0.1:${agentPort}`;
    if (this.needsOffsite && !this.offsite) {
      this.s3 = await startLocalS3(join(this.varDir, 's3'), this.env);
      this.options.log(`started a local S3 server for offsite copies at ${this.env['S3_ENDPOINT']}`);
    }
    const env = {
      ...this.env,
      PRA_VAR_DIR: this.varDir,
      API_PORT: String(apiPort),
      AGENT_PORT: String(agentPort),
      ...(this.options.privateSchedule ? { BACKUP_SCHEDULE: this.options.privateSchedule } : {}),
      LOG_LEVEL: 'warn',
      ...(this.options.autoRestore ? { BACKUP_AUTO_RESTORE: 'latest' } : {}),
      ...(this.options.token ? { BACKUP_TOKEN: this.options.token } : {}),
    };
    const logFile = join(this.varDir, 'dev.log');
    mkdirSync(this.varDir, { recursive: true });
    this.supervisor = spawn(process.execPath, [join(repoRoot(), 'tools/dev.mjs')], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const log: string[] = [];
    this.supervisor.stdout?.on('data', (d) => log.push(String(d)));
    this.supervisor.stderr?.on('data', (d) => log.push(String(d)));
    this.supervisor.on('exit', () => writeFileSync(logFile, log.join('')));
    await pollUntil(
      'the private instance to answer',
      async () =>
        (await http(`${this.agent}/health`)).status === 200 &&
        (await http(`${this.api}/ready`)).status === 200
          ? true
          : undefined,
      { timeoutMs: 30_000 },
    ).catch((err: Error) => {
      throw new Error(`${err.message}; its output:\n${log.join('')}`);
    });
  }

  private pidFile(name: string): string {
    return join(this.varDir, 'run', `${name}.pid`);
  }

  private holdFile(name: string): string {
    return join(this.varDir, 'run', `${name}.hold`);
  }

  private readPid(name: string): number {
    const pid = Number(readFileSync(this.pidFile(name), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`no pid in ${this.pidFile(name)}`);
    return pid;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A local S3 server (s3rver, a development dependency) standing in for the cluster's MinIO, so
 * the backup-loss scenario runs on a laptop. Sets S3_* in `env`.
 */
async function startLocalS3(dir: string, env: NodeJS.ProcessEnv): Promise<{ close: () => Promise<void> }> {
  // Loaded lazily: only this scenario on this target needs it.
  const S3rver = require('s3rver');
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const server = new S3rver({ port, address: '127.0.0.1', silent: true, directory: dir });
  await server.run();
  Object.assign(env, {
    S3_ENDPOINT: `http://127.0.0.1:${port}`,
    S3_REGION: 'us-east-1',
    S3_BUCKET: 'pra-drill',
    S3_PREFIX: 'pra/',
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    S3_FORCE_PATH_STYLE: 'true',
  });
  return { close: () => server.close() };
}
