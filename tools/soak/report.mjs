// The soak's verdict on memory and file descriptors, and its Markdown report.

const MiB = 1024 * 1024;
/** Samples this close to a process's start are its warm-up (modules loading, first caches). */
const WARMUP_MS = 30_000;

const median = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.floor((s.length - 1) / 2)];
};

/** The writer's connections, plus the listening socket and a few for the tools (/ready, restore). */
const MAX_SOCKETS = 32 + 8;

/**
 * Flat means: after each process's warm-up, the last quarter of the run is not above the first
 * quarter by more than half (resident memory, medians; or 24 MiB, whichever is larger: a heap
 * breathes) nor by more than 10 open files (descriptors that are not sockets, maxima). Sockets
 * follow the clients, so they must only stay within what the clients can open. A process killed
 * and restarted starts a new warm-up. Too few samples to compare is a failure: the run was too
 * short to say.
 */
export function resourceVerdict(samples) {
  const startOf = new Map();
  for (const s of samples) if (!startOf.has(s.pid)) startOf.set(s.pid, s.t);
  const steady = samples.filter((s) => s.t - startOf.get(s.pid) >= Math.min(WARMUP_MS, s.t / 2 + 1));
  if (steady.length < 4) {
    const detail = `only ${steady.length} samples after warm-up: run longer to judge`;
    return {
      rssFlat: false,
      fdsFlat: false,
      socketsBounded: false,
      rssDetail: detail,
      fdsDetail: detail,
      socketsDetail: detail,
    };
  }
  const q = Math.max(1, Math.floor(steady.length / 4));
  const first = steady.slice(0, q);
  const last = steady.slice(-q);
  const rssFirst = median(first.map((s) => s.rss));
  const rssLast = median(last.map((s) => s.rss));
  const fdsFirst = Math.max(...first.map((s) => s.fds));
  const fdsLast = Math.max(...last.map((s) => s.fds));
  const rssLimit = Math.max(rssFirst * 1.5, rssFirst + 24 * MiB);
  const socketsMax = Math.max(...samples.map((s) => s.sockets));
  return {
    restarts: startOf.size - 1,
    rss_first_mib: round(rssFirst / MiB),
    rss_last_mib: round(rssLast / MiB),
    rss_max_mib: round(Math.max(...samples.map((s) => s.rss)) / MiB),
    fds_first: fdsFirst,
    fds_last: fdsLast,
    rssFlat: rssLast <= rssLimit,
    sockets_max: socketsMax,
    fdsFlat: fdsLast <= fdsFirst + 10,
    socketsBounded: socketsMax <= MAX_SOCKETS,
    rssDetail: `median ${round(rssFirst / MiB)} MiB in the first quarter, ${round(rssLast / MiB)} MiB in the last (limit ${round(rssLimit / MiB)})`,
    fdsDetail: `at most ${fdsFirst} open files in the first quarter, ${fdsLast} in the last (limit ${fdsFirst + 10})`,
    socketsDetail: `at most ${socketsMax} sockets (limit ${MAX_SOCKETS}: the writer's 32 connections and a few)`,
  };
}

const round = (n) => Math.round(n * 10) / 10;

export function formatMarkdown(report) {
  const w = report.writes;
  const lines = [
    `# Soak ${report.run}: ${report.passed ? 'PASSED' : 'FAILED'}`,
    '',
    `${report.settings.minutes} min on ${report.settings.machine_cpus} CPUs: ${w.target_rate} writes/s asked, ` +
      `a backup every ${report.settings.backupSeconds} s, an online restore every ${report.settings.restoreEverySeconds} s, ` +
      `kill -9 of the API and of the agent every ${report.settings.killEverySeconds} s.`,
    '',
    '| check | result | detail |',
    '|---|---|---|',
    ...report.checks.map(
      (c) => `| ${c.name} | ${c.ok ? 'ok' : '**FAILED**'} | ${c.detail.replace(/\|/g, '\\|')} |`,
    ),
    '',
    '## Writes',
    '',
    `- sent ${w.sent}, acknowledged ${w.acknowledged} (${w.achieved_rate}/s)`,
    `- rolled back by the online restores, kept in their safety snapshots (the documented semantics): ${w.rolled_back_by_restores}`,
    `- **lost: ${w.lost}**`,
    `- not acknowledged (the client knows they failed): ${
      Object.entries(w.refused)
        .map(([k, v]) => `${v} ${k}`)
        .join(', ') || 'none'
    }`,
    '',
    '## Restores',
    '',
    '| # | at | restored | rows | ms | 409 retries | in live | rolled back | lost | integrity |',
    '|---|---|---|---|---|---|---|---|---|---|',
    ...report.restores.map(
      (r) =>
        `| ${r.n} | ${r.at_s} s | ${r.restored ?? r.error ?? '?'} | ${r.rows ?? '?'} | ${r.duration_ms ?? '?'} | ${r.busy_retries} | ` +
        `${r.found?.live ?? '?'} | ${r.found?.rolledBack ?? '?'} | ${r.found?.lost ?? '?'} | ${r.integrity} |`,
    ),
    '',
    '## kill -9',
    '',
    ...(report.kills.length === 0
      ? ['none in so short a run']
      : report.kills.map(
          (k) =>
            `- ${k.at_s} s: ${k.name} (pid ${k.pid}), ${k.back_ms === null ? 'NOT back' : `answering again after ${k.back_ms} ms`}`,
        )),
    '',
    '## Memory and open files',
    '',
    '| service | restarts | RSS first quarter | RSS last quarter | RSS max | open files first | open files last | sockets max |',
    '|---|---|---|---|---|---|---|---|',
    ...['api', 'agent'].map((name) => {
      const r = report.resources[name];
      return `| ${name} | ${r.restarts ?? '?'} | ${r.rss_first_mib ?? '?'} MiB | ${r.rss_last_mib ?? '?'} MiB | ${r.rss_max_mib ?? '?'} MiB | ${r.fds_first ?? '?'} | ${r.fds_last ?? '?'} | ${r.sockets_max ?? '?'} |`;
    }),
    '',
    `Restore points at the end: ${report.verify.restore_points}, ${report.verify.corrupt} corrupt (the agent's \`verify\`: sha256 and integrity_check of each).`,
    '',
  ];
  return lines.join('\n');
}
