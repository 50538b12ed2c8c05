// 2. Backup of the 1M-row database (~77 MB): the agent's full backup (snapshot + quick_check +
//    fsync + sha256 + manifest + rename, through POST /backups of the running agent) against
//    `sqlite3 .backup` + `PRAGMA quick_check` and against `cp` + `sync` of the same file, in
//    alternating rounds; then the API's /add latency idle and while backups run back to back.
import { spawn } from 'node:child_process';
import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { seedDatabase } from '../lib/db.mjs';
import { measure, summarize, warmUp } from '../lib/load.mjs';
import { json, startAgent, startApi } from '../lib/services.mjs';
import { median, round } from '../lib/stats.mjs';

const ROWS = 1_000_000;
/**
 * The agent runs its threads in SCHED_IDLE at nice 10 (apps/backup-agent/src/process/
 * cpu-priority.ts); the reference commands run the same way, so that the comparisons are about the
 * work done, whatever else the machine is running.
 */
const AGENT_PRIORITY = ['chrt', '--idle', '0', 'nice', '-n', '10'];

export async function backupSuite({ workDir, template, seconds, connections, rounds, log }) {
  const dir = join(workDir, 'backup');
  const dbPath = seedDatabase(template, join(dir, 'data', 'app.db'), ROWS);
  const dbBytes = statSync(dbPath).size;
  const backupDir = join(dir, 'backups');
  const extra = { BACKUP_KEEP_LAST: '3' };
  const api = await startApi({ dbPath, backupDir, logFile: join(dir, 'api.log'), extra });
  const agent = await startAgent({ dbPath, backupDir, logFile: join(dir, 'agent.log'), extra });
  try {
    log(`backup: ${ROWS} rows, ${dbBytes} bytes, ${rounds} rounds of each method`);
    const methods = {
      agent: async () => (await json(`${agent.url}/backups`, { method: 'POST' })).rows,
      sqlite3: () => sqlite3BackupAndCheck(dbPath, join(backupDir, 'sqlite3-backup.db')),
      cp_sync: () => copyAndSync(dbPath, join(backupDir, 'cp-copy.db')),
    };
    const times = Object.fromEntries(Object.keys(methods).map((m) => [m, []]));
    for (let pass = 0; pass <= rounds; pass++) {
      for (const [name, run] of Object.entries(methods)) {
        const t0 = performance.now();
        await run();
        // Pass 0 warms the page cache and the JIT: not counted.
        if (pass > 0) times[name].push(performance.now() - t0);
      }
    }
    const ms = Object.fromEntries(Object.entries(times).map(([m, t]) => [m, round(median(t))]));
    log(
      `  median ms: agent ${ms.agent}, sqlite3 .backup + quick_check ${ms.sqlite3}, cp + sync ${ms.cp_sync}`,
    );

    const latency = await latencyDuringBackups({
      apiUrl: api.url,
      agentUrl: agent.url,
      dbPath,
      backupDir,
      seconds: Math.max(1, Math.round(seconds / 2)),
      connections,
      rounds: 3,
    });
    for (const [load, l] of Object.entries(latency)) {
      log(
        `  /add p99 ${load}: idle ${l.idle.p99_ms} ms, agent backups ${l.agent.p99_ms} ms, sqlite3 backups ${l.sqlite3.p99_ms} ms`,
      );
    }
    return {
      rows: ROWS,
      db_bytes: dbBytes,
      rounds,
      median_ms: ms,
      all_ms: Object.fromEntries(Object.entries(times).map(([m, t]) => [m, t.map(round)])),
      ratio_agent_vs_sqlite3: round(ms.agent / ms.sqlite3),
      latency,
      api_peak_rss_bytes: api.memory().peak,
      agent_peak_rss_bytes: agent.memory().peak,
    };
  } finally {
    await Promise.all([api.stop(), agent.stop()]);
  }
}

/**
 * The API's /add latency with no backup running, with agent backups back to back, and with the
 * reference tool (`sqlite3 .backup` + quick_check) back to back. Windows of each condition are
 * interleaved, `rounds` times, and their latencies pooled, so a change in the machine's background
 * load hits every condition alike. Two loads:
 * - saturated: 16 connections as fast as the API answers (the API and the load generator then use
 *   both cores, so any other process, a backup or not, takes CPU from them);
 * - steady: 16 connections at half the idle saturated rate (the service has headroom, as a
 *   production service should); this is what shows whether a backup gets in the API's way.
 */
async function latencyDuringBackups({ apiUrl, agentUrl, dbPath, backupDir, seconds, connections, rounds }) {
  const url = `${apiUrl}/add?message=bench`;
  const conditions = {
    idle: null,
    agent: () => json(`${agentUrl}/backups`, { method: 'POST' }),
    sqlite3: () => sqlite3BackupAndCheck(dbPath, join(backupDir, 'sqlite3-loop.db')),
  };
  await warmUp(url);
  const result = {};
  for (const [load, rate] of [
    ['saturated', () => undefined],
    ['steady', () => Math.round(result.saturated.idle.rps / 2)],
  ]) {
    const runs = Object.fromEntries(Object.keys(conditions).map((c) => [c, []]));
    const backups = Object.fromEntries(Object.keys(conditions).map((c) => [c, 0]));
    const overallRate = rate();
    for (let pass = 0; pass < rounds; pass++) {
      for (const [name, backup] of Object.entries(conditions)) {
        let running = backup !== null;
        const loop = (async () => {
          while (running) {
            await backup();
            backups[name]++;
          }
        })();
        runs[name].push(await measure(url, { seconds, connections, overallRate }));
        running = false;
        await loop;
      }
    }
    result[load] = {
      route: '/add',
      connections,
      overall_rate: overallRate ?? null,
      seconds: seconds * rounds,
    };
    for (const name of Object.keys(conditions))
      result[load][name] = { ...summarize(runs[name]), backups: backups[name] };
    result[load].ratio_p99_agent = round(result[load].agent.p99_ms / result[load].idle.p99_ms);
    result[load].ratio_p99_sqlite3 = round(result[load].sqlite3.p99_ms / result[load].idle.p99_ms);
  }
  return result;
}

/** `sqlite3 .backup` then `PRAGMA quick_check` of the copy, the reference for the agent. */
async function sqlite3BackupAndCheck(dbPath, dest) {
  rmSync(dest, { force: true });
  await run('sqlite3', [dbPath, `.backup '${dest}'`]);
  const check = await run('sqlite3', [dest, 'PRAGMA quick_check']);
  if (check !== 'ok') throw new Error(`sqlite3 quick_check of ${dest}: ${check}`);
}

async function copyAndSync(dbPath, dest) {
  rmSync(dest, { force: true });
  await run('cp', [dbPath, dest]);
  await run('sync', []);
}

/** Runs `command` at the agent's priority, without blocking the event loop (load may run in it). */
function run(command, args) {
  return new Promise((resolve, reject) => {
    const [launcher, ...launcherArgs] = AGENT_PRIORITY;
    const child = spawn(launcher, [...launcherArgs, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0
        ? resolve(out.trim())
        : reject(new Error(`${command} ${args.join(' ')}: exit ${code} ${out}`)),
    );
  });
}
