#!/usr/bin/env node
// Runs the API and the backup agent locally, like the pod does in the cluster, with data under
// ./var. It is a tiny supervisor: a process that dies (a crash, or `kill -9` from a PCA drill) is
// started again after a short pause, the way Kubernetes restarts a container. Ctrl-C stops both.
//
// Pid files in var/run/ let the drill find the processes. A file var/run/<name>.hold keeps a
// stopped process down (the local "scale to 0" of the PRA drill); removing it starts it again.
// Any variable of README's table can be overridden from the environment: `API_PORT=9090 make dev`.
// With BACKUP_AUTO_RESTORE=latest the agent starts first and the API once the agent answers, as
// in the pod (the init container, then the sidecar, then the API): a missing database is restored
// before the API opens it.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const varDir = resolve(process.env.PRA_VAR_DIR ?? join(root, 'var'));
const runDir = join(varDir, 'run');
mkdirSync(join(varDir, 'data'), { recursive: true });
mkdirSync(join(varDir, 'backup'), { recursive: true });
mkdirSync(runDir, { recursive: true });

const env = {
  DB_PATH: join(varDir, 'data', 'app.db'),
  BACKUP_DIR: join(varDir, 'backup'),
  // the console lists the drills' reports (make drill-pca, make drill-pra write them there)
  DRILL_REPORTS_DIR: join(varDir, 'drills'),
  API_HOST: '127.0.0.1',
  AGENT_HOST: '127.0.0.1',
  API_PORT: '8080',
  AGENT_PORT: '8081',
  // A restore test every hour here (the cluster: once a day), the first one a minute after start.
  BACKUP_VERIFY_RESTORE_SCHEDULE: '0 0 * * * *',
  ...process.env,
};

const services = [
  { name: 'api', entry: join(root, 'dist/apps/api/main.js'), color: 36 },
  { name: 'backup-agent', entry: join(root, 'dist/apps/backup-agent/main.js'), color: 35 },
];

let stopping = false;
const children = new Map();

function prefixLines(name, color, stream, chunk) {
  const text = String(chunk).replace(/\n$/, '');
  for (const line of text.split('\n')) stream.write(`\x1b[${color}m${name.padEnd(12)}\x1b[0m| ${line}\n`);
}

const holdFile = (service) => join(runDir, `${service.name}.hold`);

function start(service, restarts = 0) {
  const child = spawn(
    process.execPath,
    [service.entry, ...(service.name === 'backup-agent' ? ['serve'] : [])],
    {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.set(service.name, child);
  writeFileSync(join(runDir, `${service.name}.pid`), `${child.pid}\n`);
  child.stdout.on('data', (d) => prefixLines(service.name, service.color, process.stdout, d));
  child.stderr.on('data', (d) => prefixLines(service.name, service.color, process.stderr, d));
  const startedAt = Date.now();
  child.on('exit', (code, signal) => {
    children.delete(service.name);
    if (stopping) return;
    if (existsSync(holdFile(service))) {
      prefixLines(
        service.name,
        33,
        process.stderr,
        `stopped (${signal ?? `code ${code}`}); held down until ${holdFile(service)} is removed`,
      );
      const poll = setInterval(() => {
        if (stopping || existsSync(holdFile(service))) return;
        clearInterval(poll);
        start(service);
      }, 100);
      return;
    }
    // Back off like a CrashLoop when it dies right after starting (bad config), not after a kill.
    const quick = Date.now() - startedAt < 3000;
    const delay = quick ? Math.min(10_000, 500 * 2 ** Math.min(restarts, 5)) : 500;
    prefixLines(
      service.name,
      31,
      process.stderr,
      `exited (${signal ?? `code ${code}`}); restarting in ${delay} ms`,
    );
    setTimeout(() => start(service, quick ? restarts + 1 : 0), delay);
  });
}

function stop() {
  if (stopping) return;
  stopping = true;
  process.stdout.write('\nstopping...\n');
  for (const child of children.values()) child.kill('SIGTERM');
  const check = setInterval(() => {
    if (children.size === 0) {
      clearInterval(check);
      for (const s of services) rmSync(join(runDir, `${s.name}.pid`), { force: true });
      process.exit(0);
    }
  }, 50);
  setTimeout(() => {
    for (const child of children.values()) child.kill('SIGKILL');
  }, 10_000).unref();
}

/** Resolves once the agent answers /health (after its automatic restore), or after `timeoutMs`. */
async function agentAnswers(timeoutMs) {
  const url = `http://${env.AGENT_HOST === '0.0.0.0' ? '127.0.0.1' : env.AGENT_HOST}:${env.AGENT_PORT}/health`;
  const deadline = Date.now() + timeoutMs;
  while (!stopping && Date.now() < deadline) {
    try {
      if ((await fetch(url, { signal: AbortSignal.timeout(1000) })).status === 200) return true;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

process.on('SIGINT', stop);
process.on('SIGTERM', stop);
writeFileSync(join(runDir, 'dev.pid'), `${process.pid}\n`);
for (const service of services) rmSync(holdFile(service), { force: true });
if (/^latest$/i.test(env.BACKUP_AUTO_RESTORE ?? '')) {
  const [api, agent] = services;
  start(agent);
  if (!(await agentAnswers(120_000)))
    prefixLines('api', 33, process.stderr, 'the agent did not answer in 120 s; starting the API anyway');
  if (!stopping) start(api);
} else {
  for (const service of services) start(service);
}

process.stdout.write(`
  pra-kit is running locally (Ctrl-C to stop)
    API           http://127.0.0.1:${env.API_PORT}    try: curl 'http://127.0.0.1:${env.API_PORT}/add?message=test'
    backup agent  http://127.0.0.1:${env.AGENT_PORT}    try: curl http://127.0.0.1:${env.AGENT_PORT}/backups
    console       http://127.0.0.1:${env.AGENT_PORT}/   restore points, health, restores, drills, in a browser
    database      ${env.DB_PATH}
    backups       ${env.BACKUP_DIR}

`);
