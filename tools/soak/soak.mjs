#!/usr/bin/env node
// make soak: the API and the agent under load for SOAK_MINUTES, with faults, checked all along.
//
//   - writes at SOAK_RATE per second (default 500), every acknowledgement recorded;
//   - a backup every SOAK_BACKUP_SECONDS (default 5, the agent's own schedule);
//   - an online restore of the newest backup every SOAK_RESTORE_EVERY_SECONDS (default 60), then
//     an integrity check of the live database and of the restore's safety snapshot, and the
//     comparison of every acknowledged write with what the two hold;
//   - kill -9 of the API and of the agent every SOAK_KILL_EVERY_SECONDS (default 300), staggered;
//     the supervisor (tools/dev.mjs, the one behind make dev) starts them again;
//   - the resident memory, open files and sockets of both, sampled every 5 s;
//   - at the end, every acknowledged write that no restore rolled back must be in the database,
//     and every restore point passes the agent's `verify` (sha256 + integrity_check).
//
// The report goes to var/soak/<run>/report.json and report.md (with the services' log; their
// data and backups are removed when the soak passed, kept when it failed). Exit 0 when every check passed, 1
// when one failed, 2 on a usage error, 3 when the soak could not run.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { Agent, request } from 'node:http';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ledger } from './ledger.mjs';
import { formatMarkdown, resourceVerdict } from './report.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const AGENT = join(root, 'dist/apps/backup-agent/main.js');

function setting(name, fallback, min, max) {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < min || n > max) {
    process.stderr.write(
      `soak: ${name} must be a number from ${min} to ${max}, got ${JSON.stringify(raw)}\n`,
    );
    process.exit(2);
  }
  return n;
}

const options = {
  minutes: setting('SOAK_MINUTES', 30, 0.5, 24 * 60),
  rate: setting('SOAK_RATE', 500, 1, 5000),
  backupSeconds: setting('SOAK_BACKUP_SECONDS', 5, 1, 59),
  restoreEverySeconds: setting('SOAK_RESTORE_EVERY_SECONDS', 60, 10, 3600),
  killEverySeconds: setting('SOAK_KILL_EVERY_SECONDS', 300, 30, 86400),
};
const runId = new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
const outDir = resolve(process.env.SOAK_OUT ?? join(root, 'var', 'soak', runId));
const varDir = join(outDir, 'var');
const dbPath = join(varDir, 'data', 'app.db');
const backupDir = join(varDir, 'backup');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const say = (line) => process.stdout.write(`[soak ${elapsed()}] ${line}\n`);
let startedAt = Date.now();
const elapsed = () => `${((Date.now() - startedAt) / 1000).toFixed(0).padStart(4)}s`;

function freePort() {
  return new Promise((res, rej) => {
    const server = createServer();
    server.on('error', rej);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => res(port));
    });
  });
}

async function get(url, init = {}) {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(init.timeoutMs ?? 10_000) });
  const text = await res.text();
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: res.status, body };
}

async function until(what, check, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
    await sleep(100);
  }
}

/** The supervisor of make dev, on private ports and a private var directory. */
async function startSupervisor(apiPort, agentPort) {
  mkdirSync(varDir, { recursive: true });
  const log = createWriteStream(join(outDir, 'services.log'));
  const child = spawn(process.execPath, [join(root, 'tools/dev.mjs')], {
    env: {
      ...process.env,
      PRA_VAR_DIR: varDir,
      API_PORT: String(apiPort),
      AGENT_PORT: String(agentPort),
      BACKUP_SCHEDULE: `*/${options.backupSeconds} * * * * *`,
      LOG_LEVEL: 'warn',
      BACKUP_TOKEN: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log);
  child.stderr.pipe(log);
  const exited = new Promise((r) => child.once('exit', r));
  return {
    exited,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
      log.end();
    },
  };
}

const pidOf = (name) => {
  try {
    return Number(readFileSync(join(varDir, 'run', `${name}.pid`), 'utf8').trim()) || null;
  } catch {
    return null;
  }
};

/** Resident memory (bytes) and open descriptors of a process; null when it is gone. */
function resources(pid) {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rss = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1]) * 1024;
    // Sockets apart: their number follows the clients (the writer keeps up to 32 connections).
    let fds = 0;
    let sockets = 0;
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target = '';
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue; // closed meanwhile
      }
      if (target.startsWith('socket:')) sockets++;
      else fds++;
    }
    return Number.isFinite(rss) ? { rss, fds, sockets } : null; // exiting: no memory left to speak of
  } catch {
    return null;
  }
}

/** The write numbers (`soak-<n>`) a database holds; also its integrity_check result. */
function readDatabase(path, { integrity }) {
  const db = new Database(path, { readonly: true, fileMustExist: true, timeout: 10_000 });
  try {
    db.exec('BEGIN'); // one snapshot for the check and the read
    const check = integrity
      ? db
          .pragma('integrity_check(5)')
          .map((r) => Object.values(r)[0])
          .join('; ')
      : 'not checked';
    const numbers = new Set();
    for (const [message] of db.prepare('SELECT message FROM events').raw().iterate()) {
      if (message.startsWith('soak-')) numbers.add(Number(message.slice(5)));
    }
    db.exec('COMMIT');
    return { numbers, integrity: check };
  } finally {
    db.close();
  }
}

/** GET on a keep-alive agent; resolves { status, body } or rejects (refused, reset, timeout). */
function getOn(agent, url, timeoutMs) {
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { agent, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body = null;
        try {
          body = JSON.parse(text);
        } catch {
          body = text;
        }
        resolvePromise({ status: res.statusCode, body });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { name: 'TimeoutError' })));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Writes at a fixed rate, every acknowledgement recorded in the ledger. At most 32 connections
 * (requests beyond wait for one), like a pool of clients: the API's open descriptors then measure
 * the API, not how many sockets the client opened.
 */
class Writer {
  constructor(apiUrl, rate, ledger) {
    Object.assign(this, { apiUrl, rate, ledger });
    this.agent = new Agent({ keepAlive: true, maxSockets: 32 });
    this.sent = 0;
    this.failures = {};
    this.inFlight = new Set();
    this.timer = null;
  }

  start() {
    const t0 = Date.now();
    this.timer = setInterval(() => {
      const due = Math.floor(((Date.now() - t0) / 1000) * this.rate) - this.sent;
      for (let i = 0; i < due; i++) {
        if (this.inFlight.size >= 128) {
          this.sent++;
          this.count('skipped: 128 requests in flight');
          continue;
        }
        this.send(++this.sent);
      }
    }, 10);
  }

  async stop() {
    clearInterval(this.timer);
    await Promise.all([...this.inFlight]);
    this.agent.destroy();
  }

  send(n) {
    const p = getOn(this.agent, `${this.apiUrl}/add?message=soak-${n}`, 15_000)
      .then(({ status, body }) => {
        if (status === 200 && body?.message === `soak-${n}`) this.ledger.ack(n, Date.now());
        else this.count(`HTTP ${status}${body?.code ? ` ${body.code}` : ''}`);
      })
      .catch((err) => this.count(err.name === 'TimeoutError' ? 'timeout' : 'connection refused or reset'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  count(reason) {
    this.failures[reason] = (this.failures[reason] ?? 0) + 1;
  }
}

async function main() {
  if (!existsSync(AGENT)) {
    process.stderr.write('soak: dist/ is missing: run make build (make soak does)\n');
    return 3;
  }
  mkdirSync(outDir, { recursive: true });
  const [apiPort, agentPort] = [await freePort(), await freePort()];
  const api = `http://127.0.0.1:${apiPort}`;
  const agent = `http://127.0.0.1:${agentPort}`;
  const durationMs = options.minutes * 60_000;
  say(
    `${options.minutes} min: ${options.rate} writes/s, a backup every ${options.backupSeconds} s, ` +
      `an online restore every ${options.restoreEverySeconds} s, kill -9 of each service every ${options.killEverySeconds} s; ` +
      `under ${outDir}`,
  );
  const supervisor = await startSupervisor(apiPort, agentPort);
  const failures = [];
  const ledger = new Ledger();
  const restores = [];
  /** Online restores in the plan: each one must be done and checked. */
  let plannedRestores = 0;
  const kills = [];
  const samples = { api: [], agent: [] };
  const integrity = { checked: 0, failed: [] };
  let writer = null;
  let sampler = null;
  try {
    await until(
      'the API and the agent to answer',
      async () => (await get(`${api}/ready`)).status === 200 && (await get(`${agent}/health`)).status === 200,
      60_000,
    );
    startedAt = Date.now();
    writer = new Writer(api, options.rate, ledger);
    writer.start();
    const sample = () => {
      for (const [name, file] of [
        ['api', 'api'],
        ['agent', 'backup-agent'],
      ]) {
        const pid = pidOf(file);
        const r = pid && resources(pid);
        if (r) samples[name].push({ t: Date.now() - startedAt, pid, ...r });
      }
    };
    sample();
    sampler = setInterval(sample, 5000);

    // The plan: restores every restoreEvery s from 30 s on; kills of the API from 50 s on and of
    // the agent from 80 s on, every killEvery s. One action at a time, in time order.
    const plan = [];
    for (let t = 30_000; t < durationMs - 5000; t += options.restoreEverySeconds * 1000)
      plan.push({ t, what: 'restore' });
    for (let t = 50_000; t < durationMs - 5000; t += options.killEverySeconds * 1000)
      plan.push({ t, what: 'kill', name: 'api' });
    for (let t = 80_000; t < durationMs - 5000; t += options.killEverySeconds * 1000)
      plan.push({ t, what: 'kill', name: 'backup-agent' });
    plan.sort((a, b) => a.t - b.t);
    plannedRestores = plan.filter((step) => step.what === 'restore').length;

    for (const step of plan) {
      const wait = startedAt + step.t - Date.now();
      if (wait > 0) await sleep(wait);
      if (step.what === 'kill') kills.push(await killAndWait(step.name, api, agent));
      else {
        const r = await restoreAndCheck(restores.length + 1, agent, ledger, integrity);
        restores.push(r);
        say(
          `restore ${r.n}: ${r.restored ?? 'FAILED'} (${r.rows ?? '?'} rows) in ${r.duration_ms} ms; live ${r.found?.live ?? '?'}, ` +
            `rolled back ${r.found?.rolledBack ?? '?'}, lost ${r.found?.lost ?? '?'}; integrity ${r.integrity}`,
        );
        if (r.error) failures.push(`restore ${r.n}: ${r.error}`);
      }
    }
    const left = startedAt + durationMs - Date.now();
    if (left > 0) await sleep(left);
    await writer.stop();
    clearInterval(sampler);
    sample();
    say(`writes stopped: ${ledger.acked} acknowledged of ${writer.sent}`);

    await until(
      'the API to answer before the final read',
      async () => (await get(`${api}/ready`)).status === 200,
      60_000,
    );
    const end = readDatabase(dbPath, { integrity: true });
    integrity.checked++;
    if (end.integrity !== 'ok') integrity.failed.push(`the live database at the end: ${end.integrity}`);
    const final = ledger.final(end.numbers);
    say(
      `final read: ${final.live} acknowledged writes in the database, ${final.lost} lost; integrity ${end.integrity}`,
    );
  } catch (err) {
    failures.push(`the soak could not go on: ${err.message}`);
  } finally {
    clearInterval(sampler);
    await writer?.stop();
    await supervisor.stop();
  }

  // Every restore point, checked by the agent itself, with the services stopped.
  const verify = spawnSync(process.execPath, [AGENT, 'verify'], {
    env: { PATH: process.env.PATH, DB_PATH: dbPath, BACKUP_DIR: backupDir },
    encoding: 'utf8',
  });
  const verifyRows = verify.stdout.split('\n').filter((l) => /^app-\d/.test(l));
  const corrupt = verifyRows.filter((l) => /\sFAILED\s/.test(l));
  say(`verify: ${verifyRows.length} restore points, ${corrupt.length} corrupt (exit ${verify.status})`);

  // The agent's own scheduled restore tests during the run (make dev's hourly one runs a minute in).
  let restoreTests = { tests_total: 0, failures_total: 0, last: null };
  try {
    restoreTests = JSON.parse(readFileSync(join(backupDir, '.restore-tests.json'), 'utf8'));
  } catch {
    // none ran
  }
  const achievedRate = ledger.acked / options.minutes / 60;
  const resourceChecks = {
    api: resourceVerdict(samples.api),
    agent: resourceVerdict(samples.agent),
  };
  const checks = [
    check(
      'lost acknowledged writes',
      ledger.lost.length === 0,
      `${ledger.lost.length}${
        ledger.lost.length
          ? `: ${ledger.lost
              .slice(0, 5)
              .map((l) => `soak-${l.n} (${l.detail})`)
              .join('; ')}`
          : ''
      }`,
    ),
    check(
      'safety snapshots hold every write acknowledged before their restore',
      ledger.safetyIncomplete.length === 0,
      `${ledger.safetyIncomplete.length} missing`,
    ),
    check(
      'integrity checks passed',
      integrity.failed.length === 0,
      `${integrity.checked - integrity.failed.length} of ${integrity.checked}${integrity.failed.length ? `: ${integrity.failed.join('; ')}` : ''}`,
    ),
    check(
      'restore points not corrupt (verify: sha256 + integrity_check)',
      verify.status === 0 && corrupt.length === 0 && verifyRows.length > 0,
      `${verifyRows.length - corrupt.length} of ${verifyRows.length} ok (exit ${verify.status})`,
    ),
    check(
      'online restores done and checked',
      restores.filter((r) => !r.error).length >= plannedRestores,
      `${restores.filter((r) => !r.error).length} of ${plannedRestores} planned`,
    ),
    check(
      'services back after each kill -9',
      kills.every((k) => k.back_ms !== null),
      kills.map((k) => `${k.name} ${k.back_ms === null ? 'NOT back' : `${k.back_ms} ms`}`).join(', ') ||
        'no kill in so short a run',
    ),
    check('API memory flat', resourceChecks.api.rssFlat, resourceChecks.api.rssDetail),
    check('API open files flat', resourceChecks.api.fdsFlat, resourceChecks.api.fdsDetail),
    check('API sockets bounded', resourceChecks.api.socketsBounded, resourceChecks.api.socketsDetail),
    check('agent memory flat', resourceChecks.agent.rssFlat, resourceChecks.agent.rssDetail),
    check('agent open files flat', resourceChecks.agent.fdsFlat, resourceChecks.agent.fdsDetail),
    check('agent sockets bounded', resourceChecks.agent.socketsBounded, resourceChecks.agent.socketsDetail),
    check(
      "the agent's scheduled restore tests passed",
      restoreTests.failures_total === 0,
      `${restoreTests.tests_total - restoreTests.failures_total} of ${restoreTests.tests_total}${restoreTests.failures_total ? `: ${restoreTests.last?.detail}` : ''}`,
    ),
    ...failures.map((f) => check(f, false, '')),
  ];
  const report = {
    run: runId,
    passed: checks.every((c) => c.ok),
    settings: { ...options, machine_cpus: (await import('node:os')).cpus().length },
    duration_s: Math.round((Date.now() - startedAt) / 1000),
    writes: {
      sent: writer?.sent ?? 0,
      acknowledged: ledger.acked,
      target_rate: options.rate,
      achieved_rate: Math.round(achievedRate),
      rolled_back_by_restores: ledger.rolledBack,
      lost: ledger.lost.length,
      refused: writer?.failures ?? {},
    },
    restores,
    kills,
    integrity,
    verify: { restore_points: verifyRows.length, corrupt: corrupt.length, exit: verify.status },
    resources: { api: resourceChecks.api, agent: resourceChecks.agent, samples },
    checks,
  };
  writeFileSync(join(outDir, 'report.json'), `${JSON.stringify(report, null, 2)}\n`);
  const markdown = formatMarkdown(report);
  writeFileSync(join(outDir, 'report.md'), markdown);
  process.stdout.write(
    `\n${markdown}\n  reports: ${join(outDir, 'report.json')}, ${join(outDir, 'report.md')}\n`,
  );
  // The databases and backups take room (a 30-minute soak: ~1 GB); kept only when something failed.
  if (report.passed) rmSync(varDir, { recursive: true, force: true });
  else
    process.stdout.write(`\n  the services' data, backups and log are kept under ${outDir} to look into\n`);
  if (achievedRate < options.rate * 0.8) {
    process.stdout.write(
      `\n  note: ${Math.round(achievedRate)} writes/s acknowledged, under the ${options.rate} asked: the machine is busy or too small\n`,
    );
  }
  return report.passed ? 0 : 1;
}

function check(name, ok, detail) {
  return { name, ok, detail };
}

/** kill -9 of one service; the supervisor restarts it. Resolves once it answers again. */
async function killAndWait(name, api, agent) {
  const pid = pidOf(name);
  const at = Date.now();
  if (!pid) return { name, at_s: (at - startedAt) / 1000, pid: null, back_ms: null };
  process.kill(pid, 'SIGKILL');
  const url = name === 'api' ? `${api}/ready` : `${agent}/health`;
  let back = null;
  try {
    await until(
      `${name} to come back`,
      async () => pidOf(name) !== pid && (await get(url, { timeoutMs: 2000 })).status === 200,
      60_000,
    );
    back = Date.now() - at;
  } catch {
    back = null;
  }
  say(`kill -9 ${name} (pid ${pid}): ${back === null ? 'NOT back in 60 s' : `back in ${back} ms`}`);
  return { name, at_s: Math.round((at - startedAt) / 100) / 10, pid, back_ms: back };
}

/**
 * POST /restore/latest (retried while a scheduled backup holds the lock), then: the safety
 * snapshot and the live database read and integrity-checked, and every acknowledged write
 * accounted for (the ledger).
 */
async function restoreAndCheck(n, agent, ledger, integrity) {
  const r = { n, at_s: Math.round((Date.now() - startedAt) / 100) / 10, busy_retries: 0 };
  try {
    await until(
      'the agent to answer',
      async () => (await get(`${agent}/health`, { timeoutMs: 2000 })).status === 200,
      60_000,
    );
    let answer;
    let sentAt;
    for (;;) {
      sentAt = Date.now();
      answer = await get(`${agent}/restore/latest`, { method: 'POST', timeoutMs: 120_000 });
      if (answer.status !== 409) break;
      r.busy_retries++;
      await sleep(200);
    }
    r.duration_ms = Date.now() - sentAt;
    if (answer.status !== 200)
      throw new Error(`POST /restore/latest answered ${answer.status}: ${JSON.stringify(answer.body)}`);
    const result = answer.body;
    Object.assign(r, {
      restored: result.restored.id,
      rows: result.restored.rows,
      rows_before: result.rows_before,
      rows_after: result.rows_after,
      safety_snapshot: result.safety_snapshot,
    });
    if (!result.safety_snapshot) throw new Error(`no safety snapshot: ${result.notes.join('; ')}`);
    const safety = readDatabase(join(backupDir, `${result.safety_snapshot}.db`), { integrity: true });
    const readAt = Date.now();
    const live = readDatabase(dbPath, { integrity: true });
    integrity.checked += 2;
    if (safety.integrity !== 'ok')
      integrity.failed.push(`safety snapshot ${result.safety_snapshot}: ${safety.integrity}`);
    if (live.integrity !== 'ok') integrity.failed.push(`live database after restore ${n}: ${live.integrity}`);
    r.integrity = safety.integrity === 'ok' && live.integrity === 'ok' ? 'ok' : 'FAILED';
    r.found = ledger.restored(n, { sentAt, readAt, safety: safety.numbers, live: live.numbers });
  } catch (err) {
    r.error = err.message;
    r.integrity = r.integrity ?? 'not checked';
  }
  return r;
}

main().then(
  (code) => (process.exitCode = code),
  (err) => {
    process.stderr.write(`soak: ${err.stack ?? err}\n`);
    process.exitCode = 3;
  },
);
