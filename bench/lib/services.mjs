// Starts the built API and backup agent as real processes (as the pod runs them) and reads their
// memory from /proc.
import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export const REPO_ROOT = new URL('../..', import.meta.url).pathname;
export const API_ENTRY = join(REPO_ROOT, 'dist/apps/api/main.js');
export const AGENT_ENTRY = join(REPO_ROOT, 'dist/apps/backup-agent/main.js');

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resident memory of a process from /proc/<pid>/status: current (VmRSS) and peak (VmHWM), bytes. */
function memoryOf(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/**
 * Spawns `node <entry> [...args]` with `env`, output to `logFile`, and waits until
 * GET <readyPath> answers 200. Returns { pid, url, memory(), stop(), exited }.
 */
export async function startProcess({
  entry,
  args = [],
  env,
  port,
  logFile,
  readyPath = '/ready',
  timeoutMs = 30_000,
}) {
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(process.execPath, [entry, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve(code ?? signal)));
  const url = `http://127.0.0.1:${port}`;
  const service = {
    pid: child.pid,
    url,
    exited,
    memory: () => memoryOf(child.pid),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
  await waitFor(
    `${url}${readyPath}`,
    timeoutMs,
    () => child.exitCode !== null && `${entry} exited (${child.exitCode}); see ${logFile}`,
  );
  return service;
}

/** Polls `url` until it answers 200, or fails with what `failed()` says (or a timeout). */
async function waitFor(url, timeoutMs, failed = () => false) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const reason = failed();
    if (reason) throw new Error(reason);
    try {
      const res = await fetch(url);
      if (res.status === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer 200 within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Environment shared by both apps for one database: paths, loopback, production defaults. */
function serviceEnv({ dbPath, backupDir, apiPort, agentPort, extra = {} }) {
  return {
    DB_PATH: dbPath,
    BACKUP_DIR: backupDir,
    API_HOST: '127.0.0.1',
    API_PORT: String(apiPort ?? 0),
    AGENT_HOST: '127.0.0.1',
    AGENT_PORT: String(agentPort ?? 0),
    DB_SYNCHRONOUS: 'FULL',
    BACKUP_VERIFY: 'quick',
    // No scheduled backups: the benchmarks decide when a backup runs.
    BACKUP_SCHEDULE: '0 0 1 1 *',
    BACKUP_ON_START: 'false',
    // Snapshots only (what the API, backup, restore and memory benchmarks measure; with replication
    // the agent takes a chain's base snapshot at start). The replication benchmark turns it on.
    BACKUP_REPLICATION: 'off',
    // Nor scheduled restore tests (one would run a minute after start).
    BACKUP_VERIFY_RESTORE_SCHEDULE: 'off',
    ...extra,
  };
}

export async function startApi({ dbPath, backupDir, logFile, extra }) {
  const port = await freePort();
  return startProcess({
    entry: API_ENTRY,
    env: serviceEnv({ dbPath, backupDir, apiPort: port, extra }),
    port,
    logFile,
  });
}

export async function startAgent({ dbPath, backupDir, logFile, extra }) {
  const port = await freePort();
  return startProcess({
    entry: AGENT_ENTRY,
    args: ['serve'],
    env: serviceEnv({ dbPath, backupDir, agentPort: port, extra }),
    port,
    logFile,
  });
}

/** Runs the agent's CLI once (`backup`, `restore ...`) and returns { status, ms, output }. */
export function agentCommand(args, { dbPath, backupDir, extra }) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [AGENT_ENTRY, ...args], {
    env: { PATH: process.env.PATH, ...serviceEnv({ dbPath, backupDir, extra }) },
    encoding: 'utf8',
  });
  const ms = performance.now() - t0;
  if (r.status !== 0)
    throw new Error(`backup-agent ${args.join(' ')} failed (${r.status}):\n${r.stdout}${r.stderr}`);
  return { status: r.status, ms, output: r.stdout };
}

/** JSON of a request, failing on a non-2xx answer. */
export async function json(url, init) {
  const res = await fetch(url, init);
  const body = await res.text();
  if (!res.ok) throw new Error(`${init?.method ?? 'GET'} ${url}: ${res.status} ${body}`);
  return JSON.parse(body);
}

/** Writes `n` events through the API, 16 at a time. */
export async function addRows(apiUrl, n) {
  for (let done = 0; done < n; done += 16) {
    await Promise.all(
      Array.from({ length: Math.min(16, n - done) }, () => json(`${apiUrl}/add?message=later`)),
    );
  }
}
