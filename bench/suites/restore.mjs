// 3. Restore of the 1M-row database (~77 MB), timed from the request to the moment the API serves
//    the restored data (its /count answers the backup's row count):
//    - online: POST /restore/:id while the API serves; a reader polls /count every 5 ms all along
//      (its errors are reported: the API must keep answering);
//    - offline, lost volume: the API is stopped and the data files are gone; `restore --offline`
//      (the restore Job's command), then the API starts on the restored file;
//    - offline, file present: the same with the old database still there (a safety snapshot of it
//      is taken first).
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { seedDatabase } from '../lib/db.mjs';
import { addRows, agentCommand, json, startAgent, startApi } from '../lib/services.mjs';
import { median, round } from '../lib/stats.mjs';

const ROWS = 1_000_000;
/** Rows written after the backup, so that the restored state is visibly different. */
const LATER_ROWS = 500;

export async function restoreSuite({ workDir, template, rounds, log }) {
  const dir = join(workDir, 'restore');
  const dbPath = seedDatabase(template, join(dir, 'data', 'app.db'), ROWS);
  const backupDir = join(dir, 'backups');
  // Room for the restored backup plus one safety snapshot per restore.
  const extra = { BACKUP_KEEP_LAST: String(3 * rounds + 2) };
  const paths = { dbPath, backupDir, extra };
  const logFile = (name) => join(dir, `${name}.log`);
  let api = await startApi({ ...paths, logFile: logFile('api') });
  const agent = await startAgent({ ...paths, logFile: logFile('agent') });
  let apiPeak = 0;
  try {
    const backup = await json(`${agent.url}/backups`, { method: 'POST' });
    log(`restore: backup ${backup.id} (${backup.rows} rows, ${backup.size} bytes), ${rounds} rounds of each`);
    const online = [];
    const offlineLost = [];
    const offlinePresent = [];
    for (let pass = 0; pass < rounds; pass++) {
      await addRows(api.url, LATER_ROWS);
      online.push(await restoreOnline(api.url, agent.url, backup));

      for (const [results, loseVolume] of [
        [offlineLost, true],
        [offlinePresent, false],
      ]) {
        await addRows(api.url, LATER_ROWS);
        apiPeak = Math.max(apiPeak, api.memory().peak);
        await api.stop();
        if (loseVolume) rmSync(dirname(dbPath), { recursive: true, force: true });
        const t0 = performance.now();
        const command = agentCommand(['restore', '--id', backup.id, '--offline'], paths);
        api = await startApi({ ...paths, logFile: logFile('api') });
        await waitForCount(api.url, backup.rows);
        results.push({ serving_ms: performance.now() - t0, command_ms: command.ms });
      }
    }
    const summary = (list, key) => round(median(list.map((r) => r[key])));
    const result = {
      rows: backup.rows,
      bytes: backup.size,
      rounds,
      online: {
        serving_ms: summary(online, 'serving_ms'),
        restore_duration_ms: summary(online, 'duration_ms'),
        first_write_ms: summary(online, 'first_write_ms'),
        reader_requests: online.reduce((n, r) => n + r.reader_requests, 0),
        reader_errors: online.reduce((n, r) => n + r.reader_errors, 0),
        all_serving_ms: online.map((r) => round(r.serving_ms)),
      },
      offline_lost_volume: {
        serving_ms: summary(offlineLost, 'serving_ms'),
        command_ms: summary(offlineLost, 'command_ms'),
        all_serving_ms: offlineLost.map((r) => round(r.serving_ms)),
      },
      offline_file_present: {
        serving_ms: summary(offlinePresent, 'serving_ms'),
        command_ms: summary(offlinePresent, 'command_ms'),
        all_serving_ms: offlinePresent.map((r) => round(r.serving_ms)),
      },
      api_peak_rss_bytes: Math.max(apiPeak, api.memory().peak),
      agent_peak_rss_bytes: agent.memory().peak,
    };
    log(
      `  median ms to serving: online ${result.online.serving_ms} (reader errors ${result.online.reader_errors}),` +
        ` offline lost volume ${result.offline_lost_volume.serving_ms}, offline file present ${result.offline_file_present.serving_ms}`,
    );
    return result;
  } finally {
    await Promise.all([api.stop(), agent.stop()]);
  }
}

/** POST /restore/:id while a reader polls /count; time until /count shows the backup's rows. */
async function restoreOnline(apiUrl, agentUrl, backup) {
  const t0 = performance.now();
  const request = json(`${agentUrl}/restore/${backup.id}`, { method: 'POST' });
  const reader = await waitForCount(apiUrl, backup.rows);
  const serving = performance.now() - t0;
  const answer = await request;
  if (answer.rows_after !== backup.rows) throw new Error(`online restore: rows_after ${answer.rows_after}`);
  // The restore wrote the whole database into the live WAL; the first write after it pays for
  // whatever checkpoint is left to do.
  const w0 = performance.now();
  await json(`${apiUrl}/add?message=after-restore`);
  return {
    serving_ms: serving,
    duration_ms: answer.duration_ms,
    first_write_ms: performance.now() - w0,
    reader_requests: reader.requests,
    reader_errors: reader.errors,
  };
}

/** Every POLL_MS, GET /count until it equals `rows`; counts the requests and the failed ones. */
const POLL_MS = 5;
async function waitForCount(apiUrl, rows, timeoutMs = 60_000) {
  const deadline = performance.now() + timeoutMs;
  let requests = 0;
  let errors = 0;
  for (;;) {
    requests++;
    try {
      const res = await fetch(`${apiUrl}/count`);
      if (res.ok && (await res.json()).count === rows) return { requests, errors };
      if (!res.ok) errors++;
    } catch {
      errors++;
    }
    if (performance.now() > deadline) throw new Error(`/count did not reach ${rows} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}
