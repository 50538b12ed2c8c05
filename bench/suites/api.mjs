// 1. The API under load: /add, /count, /consultation and /status at 16 connections on an empty, a
//    100k-row and a 1M-row database; then /add against the one-connection-per-request baseline.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { countRows, seedDatabase } from '../lib/db.mjs';
import { measure, summarize, warmUp } from '../lib/load.mjs';
import { round } from '../lib/stats.mjs';
import { freePort, json, REPO_ROOT, startAgent, startApi, startProcess } from '../lib/services.mjs';

const SIZES = [
  { name: 'empty', rows: 0 },
  { name: '100k', rows: 100_000 },
  { name: '1M', rows: 1_000_000 },
];
// Writes last: they add rows, so the reads run on the size announced.
const ROUTES = ['/count', '/consultation', '/status', '/add?message=bench'];
/** Backups in BACKUP_DIR while /status is measured: the default BACKUP_KEEP_LAST. */
const RESTORE_POINTS = 30;

/**
 * The three databases are served at once by three API processes (an idle one costs nothing), and
 * each route is measured on them in alternating windows, ROUNDS times, their latencies pooled: a
 * change in the machine's background load hits every size alike, so sizes compare fairly.
 */
const ROUNDS = 3;

export async function apiSuite({ workDir, template, seconds, connections, log }) {
  const dir = join(workDir, 'api');
  mkdirSync(dir, { recursive: true });
  const backupDir = await fillBackupDir(dir, template, log);
  const servers = [];
  try {
    for (const size of SIZES) {
      const dbPath = seedDatabase(template, join(dir, size.name, 'app.db'), size.rows);
      servers.push({
        size,
        api: await startApi({ dbPath, backupDir, logFile: join(dir, `${size.name}-api.log`) }),
      });
    }
    log(
      `api: ${SIZES.map((s) => `${s.name} (${s.rows} rows)`).join(', ')}; ${ROUNDS} windows of each route on each`,
    );
    const window = Math.max(1, Math.round(seconds / ROUNDS));
    const routes = [];
    for (const route of ROUTES) {
      for (const { api } of servers) await warmUp(api.url + route);
      const isWrite = route.startsWith('/add');
      if (isWrite) await new Promise((r) => setTimeout(r, 200));
      const before = isWrite ? await Promise.all(servers.map(({ api }) => storedRows(api.url))) : [];
      const runs = servers.map(() => []);
      for (let pass = 0; pass < ROUNDS; pass++) {
        for (const [i, { api }] of servers.entries())
          runs[i].push(await measure(api.url + route, { seconds: window, connections }));
      }
      if (isWrite) await new Promise((r) => setTimeout(r, 200)); // requests still in flight when the load stopped
      for (const [i, { size, api }] of servers.entries()) {
        const row = { db: size.name, rows: size.rows, route: route.split('?')[0], ...summarize(runs[i]) };
        if (isWrite)
          row.durability = checkStored((await storedRows(api.url)) - before[i], row.ok, connections * ROUNDS);
        routes.push(row);
        log(
          `  ${row.db} ${row.route}: ${row.rps} req/s, p50 ${row.p50_ms} ms, p99 ${row.p99_ms} ms, errors ${row.errors}`,
        );
      }
    }
    const peakRss = Math.max(...servers.map(({ api }) => api.memory().peak));
    const versus = await writesAgainstBaseline({
      dir,
      template,
      seconds: window,
      connections,
      rounds: ROUNDS,
      log,
    });
    return {
      connections,
      seconds: window * ROUNDS,
      routes,
      versus_baseline: versus,
      api_peak_rss_bytes: peakRss,
      restore_points: RESTORE_POINTS,
    };
  } finally {
    await Promise.all(servers.map(({ api }) => api.stop()));
  }
}

/**
 * /add against the one-connection-per-request baseline, each on its own fresh database: windows of
 * the two alternate, `rounds` times, so that both meet the same disk and CPU conditions (the
 * baseline pays several fsyncs per request, the API one per batch: the ratio moves with the
 * machine's fsync latency, so they must be measured side by side).
 */
async function writesAgainstBaseline({ dir, template, seconds, connections, rounds, log }) {
  const apiDb = seedDatabase(template, join(dir, 'versus-api', 'app.db'), 0);
  const baselineDb = seedDatabase(template, join(dir, 'versus-baseline', 'app.db'), 0);
  const api = await startApi({
    dbPath: apiDb,
    backupDir: join(dir, 'versus-backups'),
    logFile: join(dir, 'versus-api.log'),
  });
  const port = await freePort();
  const baseline = await startProcess({
    entry: join(REPO_ROOT, 'bench/baseline/one-connection-per-request.mjs'),
    env: { DB_PATH: baselineDb, PORT: String(port) },
    port,
    logFile: join(dir, 'baseline.log'),
  });
  const targets = {
    api: { url: `${api.url}/add?message=bench`, count: () => countRows(apiDb) },
    baseline: { url: `${baseline.url}/add?message=bench`, count: () => countRows(baselineDb) },
  };
  try {
    const runs = { api: [], baseline: [] };
    for (const { url } of Object.values(targets)) await warmUp(url);
    await new Promise((r) => setTimeout(r, 200));
    const before = Object.fromEntries(Object.entries(targets).map(([name, { count }]) => [name, count()]));
    for (let pass = 0; pass < rounds; pass++) {
      for (const [name, { url }] of Object.entries(targets))
        runs[name].push(await measure(url, { seconds, connections }));
    }
    const result = {};
    for (const [name, { count }] of Object.entries(targets)) {
      const summary = summarize(runs[name]);
      await new Promise((r) => setTimeout(r, 200)); // requests still in flight when the load stopped
      result[name] = {
        ...summary,
        durability: checkStored(count() - before[name], summary.ok, connections * rounds),
      };
    }
    result.ratio = round(result.api.rps / result.baseline.rps);
    log(
      `  /add interleaved: API ${result.api.rps} req/s, one connection per request ${result.baseline.rps} req/s: ${result.ratio}x`,
    );
    return {
      design: 'one connection per request, synchronous=FULL',
      rounds,
      seconds: seconds * rounds,
      ...result,
    };
  } finally {
    await Promise.all([api.stop(), baseline.stop()]);
  }
}

/** /status reads the backup directory: give it the restore points a default agent keeps. */
async function fillBackupDir(dir, template, log) {
  const backupDir = join(dir, 'backups');
  const dbPath = seedDatabase(template, join(dir, 'status-source', 'app.db'), 1000);
  const agent = await startAgent({ dbPath, backupDir, logFile: join(dir, 'agent.log') });
  try {
    for (let i = 0; i < RESTORE_POINTS; i++) await json(`${agent.url}/backups`, { method: 'POST' });
  } finally {
    await agent.stop();
  }
  log(`api: ${RESTORE_POINTS} restore points in ${backupDir} for /status`);
  return backupDir;
}

async function storedRows(apiUrl) {
  return (await json(`${apiUrl}/count`)).count;
}

/**
 * Every acknowledged write must be in the database: stored rows >= 2xx answers. A few more may be
 * stored (requests in flight when a load stopped, committed but never read by the client).
 */
function checkStored(stored, acknowledged, inFlight) {
  const ok = stored >= acknowledged && stored <= acknowledged + inFlight;
  if (!ok) throw new Error(`durability check failed: ${acknowledged} writes acknowledged, ${stored} stored`);
  return { acknowledged, stored, ok };
}
