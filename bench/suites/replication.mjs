// 5. Continuous replication (bench/README.md, "Replication"), on the 1M-row database (~77 MB):
//    a. the API's /add with replication on against off (two API + agent pairs on copies of the same
//       database, alternating windows), saturated and at a steady half-maximum load;
//    b. replication lag at 10k acknowledged writes/s: for each transaction, from its commit (the
//       time it stamped) to the moment the segment holding it was durable (the segment file's
//       ctime, set by the rename that follows its fsync); with the API, then with a writer
//       process committing 10k single-row transactions/s;
//    c. 10 minutes of history at 1k writes/s, generated faster than real time, restored to its
//       last instant (POST /restore?at=), request -> API serving it, from the backup volume;
//    d. the same from the bucket (s3rver) with both local volumes emptied;
//    e. one hour at 100 writes/s, generated the same way: the backup volume's bytes and the
//       bucket's, against what a snapshot a minute would take.
// A faster-than-real-time history: every process that takes part (the agent, the writer that
// commits and stamps the transactions, the S3 server) runs on bench/lib/fast-clock.cjs, a clock
// that starts LEAD_MS in the past and runs `speed` times faster than real time, timers included.
// The writer stamps transaction i at first + i * step and commits it once that instant has come on
// this clock, and never more than a segment's worth of stamps (SEGMENT_SPAN_US) past what the agent
// has made durable, so each segment holds what it would hold in real time. Then the agent (and the
// S3 server) are restarted on the real clock, and the history is restored by a normal agent.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { seedDatabase } from '../lib/db.mjs';
import { measure, summarize, warmUp } from '../lib/load.mjs';
import { startS3Server } from '../lib/s3-server.mjs';
import { commitTimes, listSegments } from '../lib/segments.mjs';
import { addRows, json, REPO_ROOT, startAgent, startApi } from '../lib/services.mjs';
import { median, quantile, round } from '../lib/stats.mjs';

const ROWS = 1_000_000;
const FAST_CLOCK = join(REPO_ROOT, 'bench/lib/fast-clock.cjs');
const WRITER = join(REPO_ROOT, 'bench/lib/stamped-writer.mjs');
/** The accelerated clock starts this far in the past (its fast phase lasts LEAD_MS / (speed - 1)). */
const LEAD_MS = 12 * 3600_000;
/**
 * What a segment holds in real time at BACKUP_SYNC_INTERVAL=1s: the agent polls every 100 ms and
 * writes a segment 700 ms after it saw the first commit it holds (replicator.ts), so the commits
 * of about 800 ms. The generated histories release their transactions in steps of this much.
 */
const SEGMENT_SPAN_US = 800_000;
const LAG_RATE = 10_000;
/** The agent's default, which bench/lib/services.mjs turns off for the other benchmarks. */
const REPLICATION = { BACKUP_REPLICATION: 'on' };
/** Rows written through the API before each restore, so that every restore changes the data. */
const LATER_ROWS = 50;

export async function replicationSuite(context) {
  const { workDir, template, log } = context;
  const env = (name, fallback) => Number(process.env[name] ?? fallback);
  const settings = {
    speed: env('BENCH_REPLICATION_SPEED', 200),
    historyMinutes: env('BENCH_PITR_MINUTES', 10),
    volumeMinutes: env('BENCH_VOLUME_MINUTES', 60),
    rounds: Math.min(context.rounds, 3),
  };
  const dir = join(workDir, 'replication');
  const seed = seedDatabase(template, join(dir, 'seed', 'app.db'), ROWS);
  const result = {
    rows: ROWS,
    db_bytes: statSync(seed).size,
    speed: settings.speed,
    load_average_at_start: os.loadavg().map(round),
  };
  log(`replication: ${ROWS} rows, ${result.db_bytes} bytes; load average ${result.load_average_at_start}`);
  Object.assign(result, await overheadAndLag({ ...context, dir, seed }));
  result.point_in_time = await pointInTime({ ...context, ...settings, dir, seed });
  result.hour = await hourOfHistory({ ...context, ...settings, dir, seed });
  result.load_average_at_end = os.loadavg().map(round);
  return result;
}

// --- a. /add with replication on and off; b. lag -------------------------------------------------

async function overheadAndLag({ dir, seed, seconds, connections, log }) {
  const stacks = {};
  try {
    for (const mode of ['on', 'off']) {
      const paths = pathsIn(join(dir, mode), seed);
      const extra = { BACKUP_REPLICATION: mode };
      stacks[mode] = {
        ...paths,
        api: await startApi({ ...paths, extra, logFile: join(dir, mode, 'api.log') }),
        agent: await startAgent({ ...paths, extra, logFile: join(dir, mode, 'agent.log') }),
      };
    }
    await following(stacks.on.agent.url);
    const url = (mode) => `${stacks[mode].api.url}/add?message=bench`;
    for (const mode of ['on', 'off']) await warmUp(url(mode));

    const window = Math.max(1, Math.round(seconds / 3));
    const overhead = {};
    for (const load of ['saturated', 'steady']) {
      const overallRate = load === 'steady' ? Math.round(overhead.saturated.off.rps / 2) : undefined;
      const runs = { on: [], off: [] };
      const restartsBefore = await walRestarts(stacks.on.agent.url);
      for (let pass = 0; pass < 3; pass++) {
        for (const mode of ['on', 'off'])
          runs[mode].push(await measure(url(mode), { seconds: window, connections, overallRate }));
      }
      const restarts = (await walRestarts(stacks.on.agent.url)) - restartsBefore;
      const on = summarize(runs.on);
      const off = summarize(runs.off);
      overhead[load] = {
        connections,
        overall_rate: overallRate ?? null,
        seconds: window * 3,
        on,
        off,
        ratio_rps: round(on.rps / off.rps),
        ratio_p99: round(on.p99_ms / off.p99_ms),
        // WAL restarts by the agent (under the write lock) during the "on" windows.
        wal_restarts: restarts,
      };
      log(
        `  /add ${load}: on ${on.rps} req/s p99 ${on.p99_ms} ms, off ${off.rps} req/s p99 ${off.p99_ms} ms` +
          ` (${overhead[load].ratio_rps}×, p99 ${overhead[load].ratio_p99}×)`,
      );
    }

    // b. Lag, through the API: a steady LAG_RATE /add, each answered after its commit.
    const on = stacks.on;
    const fromUs = Date.now() * 1000;
    const run = await measure(url('on'), {
      seconds: Math.max(3, Math.round(seconds / 2)),
      connections,
      overallRate: LAG_RATE,
    });
    const toUs = Date.now() * 1000;
    await settled(on.backupDir);
    const api = {
      source: 'API',
      offered_per_s: LAG_RATE,
      acknowledged_per_s: Math.round(run.ok / run.seconds),
      errors: run.errors,
      p99_request_ms: round(quantile(run.latencies, 0.99)),
      ...lagsBetween(on.backupDir, fromUs, toUs),
    };
    api.writes_per_transaction = round(run.ok / api.transactions);
    log(
      `  lag at ${api.acknowledged_per_s} acknowledged writes/s (API, ${api.transactions} transactions): ` +
        `p50 ${api.p50_ms} ms, p99 ${api.p99_ms} ms, max ${api.max_ms} ms`,
    );
    // ... and with a writer process: LAG_RATE single-row transactions/s, the API idle.
    const written = await runWriter([on.dbPath, 'rate', LAG_RATE, Math.max(3, Math.round(seconds / 2))]);
    await settled(on.backupDir);
    const writer = {
      source: 'writer process',
      offered_per_s: LAG_RATE,
      acknowledged_per_s: Math.round(written.transactions / (written.real_ms / 1000)),
      errors: 0,
      ...lagsBetween(on.backupDir, written.first_us, written.last_us),
    };
    writer.writes_per_transaction = 1;
    log(
      `  lag at ${writer.acknowledged_per_s} single-row transactions/s (writer): ` +
        `p50 ${writer.p50_ms} ms, p99 ${writer.p99_ms} ms, max ${writer.max_ms} ms`,
    );
    return {
      overhead,
      lag: { api, writer },
      agent_peak_rss_bytes: on.agent.memory().peak,
    };
  } finally {
    for (const s of Object.values(stacks)) await Promise.all([s.api.stop(), s.agent.stop()]);
  }
}

/** The agent's count of WAL restarts (pra_replication_wal_restarts_total). */
async function walRestarts(agentUrl) {
  const text = await (await fetch(`${agentUrl}/metrics`)).text();
  const match = /^pra_replication_wal_restarts_total(?:\{[^}]*\})? (\d+)/m.exec(text);
  if (!match) throw new Error("pra_replication_wal_restarts_total is not in the agent's /metrics");
  return Number(match[1]);
}

/**
 * Lag of every transaction committed in [fromUs, toUs]: from its commit time (the stamp it wrote,
 * read back from the segment) to the ctime of the segment file that holds it.
 */
function lagsBetween(backupDir, fromUs, toUs) {
  const lags = [];
  let segments = 0;
  for (const s of listSegments(backupDir)) {
    if (s.footer.last_time_us < fromUs || s.footer.first_time_us > toUs) continue;
    segments++;
    for (const t of commitTimes(s.path)) if (t >= fromUs && t <= toUs) lags.push(s.durableMs - t / 1000);
  }
  if (lags.length === 0) throw new Error('no transaction of the lag run was found in the segments');
  return {
    transactions: lags.length,
    transactions_per_s: Math.round(lags.length / ((toUs - fromUs) / 1e6)),
    segments,
    p50_ms: round(quantile(lags, 0.5)),
    p99_ms: round(quantile(lags, 0.99)),
    max_ms: round(quantile(lags, 1)),
  };
}

// --- c, d. Point-in-time restore of 10 minutes at 1k writes/s ------------------------------------

async function pointInTime({ dir: parent, seed, speed, historyMinutes, rounds, log }) {
  const dir = join(parent, 'pitr');
  const paths = pathsIn(dir, seed);
  const count = historyMinutes * 60 * 1000;
  const bucket = 'pitr';
  let api = await startApi({ ...paths, logFile: join(dir, 'api.log') });
  let agent = null;
  let s3 = null;
  try {
    log(`point in time: ${count} transactions (${historyMinutes} min at 1000/s), generated at ${speed}×`);
    const generated = await generateHistory({ dir, ...paths, bucket, count, stepUs: 1000, speed, log });
    s3 = generated.s3;
    const at = new Date(Math.floor(generated.last_us / 1000)).toISOString();
    const expected = ROWS + count;
    const counted = (await json(`${api.url}/count`)).count;
    if (counted !== expected) throw new Error(`after the history, /count is ${counted}, not ${expected}`);

    // c. From the backup volume, the API serving.
    agent = await startAgent({ ...paths, extra: REPLICATION, logFile: join(dir, 'agent.log') });
    const local = [];
    for (let round = 0; round < rounds; round++) {
      await following(agent.url);
      await addRows(api.url, LATER_ROWS);
      local.push(await restoreAt(api.url, agent.url, at, '', expected, count));
    }
    const agentPeak = agent.memory().peak;
    await agent.stop();
    agent = null;

    // d. From the bucket, both volumes emptied: the API starts on a new empty database, the agent
    //    on an empty backup volume, and the instant is restored from the bucket alone.
    const fromBucket = [];
    for (let round = 0; round < rounds; round++) {
      await api.stop();
      rmSync(dirname(paths.dbPath), { recursive: true, force: true });
      rmSync(paths.backupDir, { recursive: true, force: true });
      api = await startApi({ ...paths, logFile: join(dir, 'api.log') });
      agent = await startAgent({
        ...paths,
        extra: { ...REPLICATION, ...s3.agentEnv(bucket) },
        logFile: join(dir, 'agent-s3.log'),
      });
      const empty = (await json(`${api.url}/count`)).count;
      if (empty !== 0) throw new Error(`the emptied volumes still hold ${empty} rows`);
      // The agent refuses to start a chain on the empty database (the bucket holds backups: both
      // volumes look lost); once it said so, the instant is asked for.
      await waitUntil('the agent to refuse a chain on the empty database', 30_000, async () => {
        const r = (await json(`${agent.url}/health/backups`)).replication;
        return r?.state === 'waiting' && r.last_error !== null;
      });
      fromBucket.push(await restoreAt(api.url, agent.url, at, '&from=s3', expected, count));
      await stopNow(agent);
      agent = null;
    }
    const summary = (list) => ({
      serving_ms: round(median(list.map((r) => r.serving_ms))),
      prepare_ms: round(median(list.map((r) => r.prepare_ms))),
      restore_step_ms: round(median(list.map((r) => r.restore_step_ms))),
      refused_busy: list.reduce((n, r) => n + r.refused_busy, 0),
      all_serving_ms: list.map((r) => round(r.serving_ms)),
    });
    const result = {
      history: without(generated, 's3'),
      at,
      rows_after: expected,
      rounds,
      local: summary(local),
      s3: summary(fromBucket),
      agent_peak_rss_bytes: agentPeak,
    };
    log(
      `  restore to ${at}, request -> API serving: local ${result.local.serving_ms} ms ` +
        `(${result.local.all_serving_ms.join(', ')}), bucket ${result.s3.serving_ms} ms (${result.s3.all_serving_ms.join(', ')})`,
    );
    return result;
  } finally {
    if (agent) await stopNow(agent);
    await api.stop();
    await s3?.stop();
  }
}

/**
 * POST /restore?at=<at> while the API serves; the time until its /count answers `expected` (polled
 * every 5 ms). The answer's duration_ms is the restore into the live database (safety snapshot
 * included); what comes before it (plan, copy of the snapshot, replay, checks) is `prepare_ms`.
 */
async function restoreAt(apiUrl, agentUrl, at, query, expected, transactions) {
  const t0 = performance.now();
  const answer = requestRestore(`${agentUrl}/restore?at=${encodeURIComponent(at)}${query}`);
  let answered = null;
  answer.then(
    () => (answered = performance.now()),
    () => (answered = performance.now()), // thrown by the `await answer` below
  );
  for (;;) {
    const askedAt = performance.now();
    const res = await fetch(`${apiUrl}/count`).catch(() => null);
    if (res?.ok && (await res.json()).count === expected) break;
    if (answered !== null && answered < askedAt) {
      await answer;
      throw new Error(`the restore answered but /count is not ${expected}`);
    }
    if (performance.now() - t0 > 120_000) throw new Error(`/count did not reach ${expected} in 120 s`);
    await sleep(5);
  }
  const serving = performance.now() - t0;
  const result = await answer;
  const answeredMs = answered - t0;
  if (result.rows_after !== expected) throw new Error(`restore: rows_after ${result.rows_after}`);
  if (result.point_in_time?.transactions !== transactions)
    throw new Error(
      `restore: ${result.point_in_time?.transactions} transactions replayed, not ${transactions}`,
    );
  return {
    serving_ms: serving,
    refused_busy: result.refusedBusy,
    answered_ms: answeredMs,
    restore_step_ms: result.duration_ms,
    prepare_ms: answeredMs - result.duration_ms,
  };
}

/**
 * POST of a restore, sent again when the agent answers 409 (another operation holds its lock: while
 * both volumes look lost, the agent retries every 5 s to start a chain, which takes it for a moment).
 */
async function requestRestore(url) {
  for (let refusedBusy = 0; ; refusedBusy++) {
    const res = await fetch(url, { method: 'POST' });
    const body = await res.text();
    if (res.ok) return { ...JSON.parse(body), refusedBusy };
    if (res.status !== 409 || refusedBusy >= 100) throw new Error(`POST ${url}: ${res.status} ${body}`);
    await sleep(20);
  }
}

// --- e. One hour at 100 writes/s: bytes ------------------------------------------------------------

async function hourOfHistory({ dir: parent, seed, speed, volumeMinutes, log }) {
  const dir = join(parent, 'hour');
  const paths = pathsIn(dir, seed);
  const count = volumeMinutes * 60 * 100;
  const bucket = 'hour';
  const api = await startApi({ ...paths, logFile: join(dir, 'api.log') });
  let s3 = null;
  try {
    log(`volume: ${count} transactions (${volumeMinutes} min at 100/s), generated at ${speed}×`);
    const generated = await generateHistory({ dir, ...paths, bucket, count, stepUs: 10_000, speed, log });
    s3 = generated.s3;
    const volume = filesUnder(paths.backupDir);
    const objects = await s3.list(bucket);
    const endBytes = databaseBytes(paths.dbPath);
    const snapshotBytes = generated.base.size;
    // Snapshot-only: one a minute, each the size of the database then (it grows linearly here).
    const copies = volumeMinutes;
    let copiesBytes = 0;
    for (let m = 1; m <= copies; m++)
      copiesBytes += snapshotBytes + ((endBytes - snapshotBytes) * m) / copies;
    const bytesOf = (list, test) => list.filter((f) => test(f.key)).reduce((n, f) => n + f.size, 0);
    const result = {
      history: without(generated, 's3'),
      minutes: volumeMinutes,
      snapshot_bytes: snapshotBytes,
      database_bytes_at_end: endBytes,
      volume: {
        bytes: bytesOf(volume, () => true),
        snapshot_bytes: bytesOf(volume, (k) => k.endsWith('.db')),
        segment_bytes: bytesOf(volume, (k) => k.endsWith('.seg')),
        files: volume.length,
      },
      bucket: {
        bytes: bytesOf(objects, () => true),
        snapshot_bytes: bytesOf(objects, (k) => k.endsWith('.db')),
        segment_bytes: bytesOf(objects, (k) => k.endsWith('.seg')),
        objects: objects.length,
      },
      snapshot_only: { copies, bytes: Math.round(copiesBytes) },
    };
    result.volume.ratio_to_snapshot = round(result.volume.bytes / snapshotBytes);
    result.volume.segment_bytes_per_transaction = round(result.volume.segment_bytes / count);
    result.bucket.ratio_to_copies = round(result.bucket.bytes / copiesBytes);
    log(
      `  ${volumeMinutes} min: backup volume ${result.volume.bytes} bytes = ${result.volume.ratio_to_snapshot}× ` +
        `one snapshot (${snapshotBytes}); bucket ${result.bucket.bytes} bytes; ${copies} snapshots: ${result.snapshot_only.bytes}`,
    );
    return result;
  } finally {
    await api.stop();
    await s3?.stop();
  }
}

// --- The faster-than-real-time history -------------------------------------------------------------

/**
 * Commits `count` single-row transactions stamped `stepUs` apart into the database, followed by an
 * agent (with offsite copies to `bucket` on a local s3rver), everything on the accelerated clock;
 * waits until every transaction is durable (and in the bucket), then stops the agent and restarts
 * the S3 server on the real clock. Returns what was generated, and the S3 server.
 */
async function generateHistory({ dir, dbPath, backupDir, bucket, count, stepUs, speed, log }) {
  const startFile = join(dir, 'clock-start');
  const clock = {
    NODE_OPTIONS: `--require ${FAST_CLOCK}`,
    BENCH_FAST_CLOCK: `${LEAD_MS},${speed},${startFile}`,
  };
  const s3 = await startS3Server(join(dir, 's3'), clock);
  const agent = await startAgent({
    dbPath,
    backupDir,
    extra: { ...REPLICATION, ...clock, ...s3.agentEnv(bucket) },
    logFile: join(dir, 'agent-generating.log'),
  });
  try {
    const chain = await following(agent.url);
    const started = Date.now();
    writeFileSync(startFile, String(started));
    for (const pid of [agent.pid, s3.pid]) process.kill(pid, 'SIGWINCH');
    const firstUs = (Math.floor(started - LEAD_MS) + 1) * 1000;
    const fastPhaseMs = LEAD_MS / (speed - 1);
    const written = await runWriter(
      [dbPath, 'schedule', firstUs, stepUs, count, join(backupDir, 'chains', chain), SEGMENT_SPAN_US],
      { env: clock, deadlineMs: fastPhaseMs },
    );
    if (written.transactions !== count)
      throw new Error(`the writer committed ${written.transactions} of ${count}`);
    const lastIso = new Date(Math.floor(written.last_us / 1000)).toISOString();
    await waitUntil('every transaction durable on the backup volume', 60_000, async () => {
      const c = (await json(`${agent.url}/chains`)).find((x) => x.id === chain);
      return c?.transactions >= count;
    });
    await waitUntil('the snapshot and every segment in the bucket', 120_000, async () => {
      const c = (await json(`${agent.url}/chains`)).find((x) => x.id === chain);
      const base = (await json(`${agent.url}/backups`)).find((b) => b.chain?.id === chain);
      return c?.offsite?.to >= lastIso && base?.offsite?.state === 'uploaded';
    });
    const base = (await json(`${agent.url}/backups`)).find((b) => b.chain?.id === chain);
    const segments = listSegments(backupDir).filter((s) => s.chain === chain);
    const history = {
      transactions: count,
      step_us: stepUs,
      first_us: written.first_us,
      last_us: written.last_us,
      real_ms: Date.now() - started,
      speed_achieved: round((written.last_us - written.first_us) / 1000 / (Date.now() - started)),
      segments: segments.length,
      segment_bytes: segments.reduce((n, s) => n + s.size, 0),
      transactions_per_segment: median(segments.map((s) => s.footer.tx_count)),
      seconds_per_segment: round(
        median(segments.map((s) => s.footer.last_time_us - s.footer.first_time_us)) / 1e6,
      ),
      base: { id: base.id, size: base.size },
    };
    log(
      `  generated in ${history.real_ms} ms (${history.speed_achieved}× real time): ${history.segments} segments, ` +
        `${history.transactions_per_segment} transactions and ${history.seconds_per_segment} s each, ${history.segment_bytes} bytes`,
    );
    return { ...history, s3 };
  } catch (err) {
    await s3.stop();
    throw err;
  } finally {
    await agent.stop();
    if (s3.pid) {
      await s3.stop();
      await s3.start(); // the real clock from now on
    }
  }
}

// --- Helpers ------------------------------------------------------------------------------------

/** A copy of the seeded database in `dir`/data, and an empty backup directory beside it. */
function pathsIn(dir, seed) {
  const dbPath = join(dir, 'data', 'app.db');
  mkdirSync(dirname(dbPath), { recursive: true });
  copyFileSync(seed, dbPath);
  return { dbPath, backupDir: join(dir, 'backups') };
}

/** Waits until the agent follows the WAL (its chain's base snapshot taken); returns the chain id. */
async function following(agentUrl) {
  let chain = null;
  await waitUntil('replication to follow the WAL', 60_000, async () => {
    const r = (await json(`${agentUrl}/health/backups`)).replication;
    chain = r?.chain ?? null;
    return r?.state === 'following';
  });
  return chain;
}

/** Waits until no new segment appeared for 1.5 s (everything committed is durable). */
async function settled(backupDir) {
  const count = () =>
    readdirSync(join(backupDir, 'chains')).reduce(
      (n, c) => n + (c.startsWith('chain-') ? readdirSync(join(backupDir, 'chains', c)).length : 0),
      0,
    );
  let last = -1;
  while (count() !== last) {
    last = count();
    await sleep(1500);
  }
}

/** Runs the stamped writer; resolves with its JSON line. Killed past `deadlineMs`. */
function runWriter(args, { env = {}, deadlineMs = 600_000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, ...args.map(String)], {
      env: { PATH: process.env.PATH, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `the writer did not finish within ${Math.round(deadlineMs / 1000)} s: the agent could not follow`,
        ),
      );
    }, deadlineMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').pop()));
      else reject(new Error(`writer exited with ${code}: ${out}`));
    });
  });
}

/** SIGTERM, and SIGKILL if it is still there after 5 s (an upload in progress is not waited for). */
async function stopNow(service) {
  const timer = setTimeout(() => process.kill(service.pid, 'SIGKILL'), 5000);
  await service.stop();
  clearTimeout(timer);
}

/** Every file under `dir`: [{ key (path relative to dir), size }]. */
function filesUnder(dir, prefix = '') {
  const out = [];
  for (const entry of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const key = join(prefix, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(dir, key));
    else out.push({ key, size: statSync(join(dir, key)).size });
  }
  return out;
}

/** The database's size as SQLite sees it (pages, WAL included). */
function databaseBytes(dbPath) {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('page_count', { simple: true }) * db.pragma('page_size', { simple: true });
  } finally {
    db.close();
  }
}

async function waitUntil(what, timeoutMs, check) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function without(object, key) {
  const copy = { ...object };
  delete copy[key];
  return copy;
}
