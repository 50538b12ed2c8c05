// Turns the raw results into the targets of bench/README.md (all ratios or same-run comparisons) and a
// Markdown report.
import { megabytes, mib, round } from './stats.mjs';

const find = (api, db, route) => api?.routes.find((r) => r.db === db && r.route === route);

/** Each target: what it asks, what was measured, and whether it holds. Skipped suites give none. */
export function evaluateTargets({ api, backup, restore, memory, replication }) {
  const targets = [];
  const add = (name, measured, holds) => targets.push({ name, measured, holds });
  if (api) {
    const v = api.versus_baseline;
    add(
      '`/add` ≥ 20× the one-connection-per-request design, both at synchronous=FULL',
      `${v.api.rps} vs ${v.baseline.rps} req/s = ${v.ratio}×`,
      v.ratio >= 20,
    );
    const adds = api.routes.filter((r) => r.route === '/add');
    const worst = adds.reduce((a, b) => (b.p99_ms > a.p99_ms ? b : a));
    add(
      '`/add` p99 ≤ 20 ms at 16 connections (every database size)',
      `worst ${worst.p99_ms} ms (${worst.db})`,
      worst.p99_ms <= 20,
    );
    const count0 = find(api, 'empty', '/count');
    const count1m = find(api, '1M', '/count');
    const countRatio = round(count1m.rps / count0.rps);
    add(
      '`/count` independent of table size: 1M rows ≥ 0.75× the empty rate, ≥ 1000 req/s',
      `${count1m.rps} req/s at 1M vs ${count0.rps} empty = ${countRatio}×`,
      countRatio >= 0.75 && count1m.rps >= 1000,
    );
    const errors = api.routes.reduce((n, r) => n + r.errors, 0) + v.api.errors;
    const stored = [...adds, v.api, v.baseline].every((r) => r.durability.ok);
    add(
      'no errors under load, every acknowledged write stored',
      `${errors} errors; durability checks ${stored ? 'passed' : 'FAILED'}`,
      errors === 0 && stored,
    );
  }
  if (backup) {
    const m = backup.median_ms;
    add(
      'full backup incl. verification ≤ 2× (`sqlite3 .backup` + `quick_check`)',
      `${m.agent} vs ${m.sqlite3} ms = ${backup.ratio_agent_vs_sqlite3}×`,
      backup.ratio_agent_vs_sqlite3 <= 2,
    );
    for (const [load, l] of Object.entries(backup.latency)) {
      const what = load === 'saturated' ? 'saturated' : `steady ${l.overall_rate} req/s`;
      add(
        `API p99 during a backup ≤ 2× idle p99 (\`/add\`, ${l.connections} connections, ${what})`,
        `${l.agent.p99_ms} vs ${l.idle.p99_ms} ms = ${l.ratio_p99_agent}× (sqlite3 .backup: ${l.ratio_p99_sqlite3}×)`,
        l.ratio_p99_agent <= 2,
      );
    }
  }
  if (restore) {
    const size = megabytes(restore.bytes);
    add(
      `online restore of ${size}, request → API serving it ≤ 2 s`,
      `${restore.online.serving_ms} ms, ${restore.online.reader_errors} reader errors`,
      restore.online.serving_ms <= 2000 && restore.online.reader_errors === 0,
    );
    add(
      `offline restore (lost volume) of ${size}, command → API serving it ≤ 2 s`,
      `${restore.offline_lost_volume.serving_ms} ms`,
      restore.offline_lost_volume.serving_ms <= 2000,
    );
  }
  if (memory) {
    add(
      `agent RSS flat over ${memory.backups} backups (last tenth ≤ ${pct(memory.tolerance)} over the fifth)`,
      `${memory.rss_mib_early} → ${memory.rss_mib_late} MiB (${pct(memory.growth)})`,
      memory.flat,
    );
  }
  if (replication) replicationTargets(replication, add);
  return targets;
}

/** The API run unless it fell short of the rate asked; then the writer process's. */
function lagJudged(lag) {
  return lag.api.acknowledged_per_s >= 0.95 * lag.api.offered_per_s ? lag.api : lag.writer;
}

function replicationTargets(r, add) {
  for (const [load, o] of Object.entries(r.overhead)) {
    const what = load === 'saturated' ? 'saturated' : `steady ${o.overall_rate} req/s`;
    add(
      `\`/add\` req/s with replication on ≥ 0.9× off (${o.connections} connections, ${what})`,
      `${o.on.rps} vs ${o.off.rps} req/s = ${o.ratio_rps}×`,
      o.ratio_rps >= 0.9,
    );
    add(
      `\`/add\` p99 with replication on ≤ 1.5× off (${o.connections} connections, ${what})`,
      `${o.on.p99_ms} vs ${o.off.p99_ms} ms = ${o.ratio_p99}×`,
      o.ratio_p99 <= 1.5,
    );
  }
  const lag = lagJudged(r.lag);
  add(
    `replication lag p99 ≤ 1 s at ${lag.offered_per_s / 1000}k acknowledged writes/s (${lag.source})`,
    `p99 ${lag.p99_ms} ms (p50 ${lag.p50_ms}, max ${lag.max_ms}) at ${lag.acknowledged_per_s} writes/s, ${lag.transactions} transactions`,
    lag.p99_ms <= 1000,
  );
  const p = r.point_in_time;
  const history = `${megabytes(p.history.base.size)} snapshot + ${historyName(p.history)}`;
  add(
    `point-in-time restore of ${history}, request → API serving ≤ 3 s`,
    `${p.local.serving_ms} ms (median of ${p.rounds})`,
    p.local.serving_ms <= 3000,
  );
  const h = r.hour;
  add(
    `backup volume after ${historyName(h.history)} ≤ 1.2× one snapshot (${megabytes(h.snapshot_bytes)})`,
    `${megabytes(h.volume.bytes)} = ${h.volume.ratio_to_snapshot}× (${h.snapshot_only.copies} snapshots: ${megabytes(h.snapshot_only.bytes)})`,
    h.volume.ratio_to_snapshot <= 1.2,
  );
  add(
    `restore of ${history} from the bucket, both volumes emptied, request → API serving ≤ 5 s`,
    `${p.s3.serving_ms} ms (median of ${p.rounds})`,
    p.s3.serving_ms <= 5000,
  );
}

/** "10 min at 1000 writes/s", from what was generated. */
function historyName(h) {
  const minutes = round((h.transactions * h.step_us) / 60e6);
  return `${minutes} min at ${round(1e6 / h.step_us)} writes/s`;
}

export function renderMarkdown(results) {
  const { machine: m, api, backup, restore, memory, replication, targets } = results;
  const out = [];
  const line = (s = '') => out.push(s);
  const table = (head, rows) => {
    line(`| ${head.join(' | ')} |`);
    line(`|${head.map(() => '---').join('|')}|`);
    for (const r of rows) line(`| ${r.join(' | ')} |`);
    line();
  };
  line('# Benchmark results');
  line();
  line(
    `${results.date}, \`make bench\` took ${results.duration_s} s. Machine: ${m.cpus} CPU (${m.cpu_model}), ${m.memory_gb} GiB,`,
  );
  line(
    `${m.os}, kernel ${m.kernel}, Node ${m.node}, SQLite ${m.sqlite_library} (sqlite3 CLI ${m.sqlite3_cli}),`,
  );
  line(`fsync of 4 KiB ${m.fsync_ms} ms, load average ${m.load_average_at_start.join(' ')} at start.`);
  line('Every comparison is within this run; absolute numbers only describe this machine.');
  line();
  line('## Targets');
  line();
  table(
    ['target', 'measured', 'holds'],
    targets.map((t) => [t.name, t.measured, t.holds ? 'yes' : '**no**']),
  );
  if (api) {
    line(`## 1. API at ${api.connections} connections (${api.seconds} s per route)`);
    line();
    table(
      ['database', 'route', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
      api.routes.map((r) => [r.db, `\`${r.route}\``, r.rps, r.p50_ms, r.p99_ms, r.errors]),
    );
    const v = api.versus_baseline;
    line(
      `\`/add\` against the one-connection-per-request baseline (bench/baseline/), each on a fresh database,`,
    );
    line(`${v.rounds} alternating windows each, ${v.seconds} s in all:`);
    line();
    table(
      ['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'ratio'],
      [
        [
          'API (group commit, synchronous=FULL)',
          v.api.rps,
          v.api.p50_ms,
          v.api.p99_ms,
          v.api.errors,
          `${v.ratio}×`,
        ],
        [
          'one connection per request, synchronous=FULL',
          v.baseline.rps,
          v.baseline.p50_ms,
          v.baseline.p99_ms,
          v.baseline.errors,
          '1×',
        ],
      ],
    );
    const durability = [
      ...api.routes.filter((r) => r.durability),
      { db: 'versus', durability: v.api.durability },
    ];
    line(
      `\`/status\` read a backup directory of ${api.restore_points} restore points. After each \`/add\` run the rows stored were`,
    );
    line(
      'compared with the writes acknowledged: ' +
        durability
          .map((r) => `${r.db}: ${r.durability.acknowledged} acknowledged, ${r.durability.stored} stored`)
          .join('; ') +
        '.',
    );
    line();
  }
  if (backup) {
    line(
      `## 2. Backup of ${backup.rows.toLocaleString('en')} rows (${megabytes(backup.db_bytes)}), median of ${backup.rounds}`,
    );
    line();
    const b = backup.median_ms;
    table(
      ['method', 'median ms', 'vs sqlite3'],
      [
        [
          'agent: POST /backups (snapshot, quick_check, fsync, sha256, manifest, rename, retention)',
          b.agent,
          `${backup.ratio_agent_vs_sqlite3}×`,
        ],
        ['`sqlite3 .backup` + `PRAGMA quick_check`', b.sqlite3, '1×'],
        ['`cp` + `sync` (not consistent: misses the WAL)', b.cp_sync, `${round(b.cp_sync / b.sqlite3)}×`],
      ],
    );
    for (const [load, l] of Object.entries(backup.latency)) {
      const head =
        load === 'saturated'
          ? 'as fast as it answers'
          : `a steady ${l.overall_rate} req/s (half the idle maximum)`;
      table(
        [
          `API \`/add\`, ${l.connections} connections, ${head}`,
          'req/s',
          'p50 ms',
          'p99 ms',
          'p99 vs idle',
          'errors',
        ],
        [
          ['idle', l.idle.rps, l.idle.p50_ms, l.idle.p99_ms, '1×', l.idle.errors],
          [
            `agent backups back to back (${l.agent.backups})`,
            l.agent.rps,
            l.agent.p50_ms,
            l.agent.p99_ms,
            `${l.ratio_p99_agent}×`,
            l.agent.errors,
          ],
          [
            `\`sqlite3 .backup\` + quick_check back to back (${l.sqlite3.backups})`,
            l.sqlite3.rps,
            l.sqlite3.p50_ms,
            l.sqlite3.p99_ms,
            `${l.ratio_p99_sqlite3}×`,
            l.sqlite3.errors,
          ],
        ],
      );
    }
  }
  if (restore) {
    line(
      `## 3. Restore of ${megabytes(restore.bytes)} (${restore.rows.toLocaleString('en')} rows), median of ${restore.rounds}`,
    );
    line();
    table(
      ['mode', 'request → API serving the restored data (ms)', 'details'],
      [
        [
          'online: `POST /restore/:id`, API serving',
          restore.online.serving_ms,
          `restore ${restore.online.restore_duration_ms} ms; ${restore.online.reader_requests} reads during it, ${restore.online.reader_errors} errors; first write after it ${restore.online.first_write_ms} ms`,
        ],
        [
          'offline, volume lost: `restore --offline`, then API start',
          restore.offline_lost_volume.serving_ms,
          `command ${restore.offline_lost_volume.command_ms} ms`,
        ],
        [
          'offline, old file present (safety snapshot first)',
          restore.offline_file_present.serving_ms,
          `command ${restore.offline_file_present.command_ms} ms`,
        ],
      ],
    );
  }
  if (api || backup || memory || replication) {
    line('## 4. Memory');
    line();
    const rows = [];
    if (api) rows.push(['API', 'peak RSS during the API benchmark (1)', mib(api.api_peak_rss_bytes)]);
    if (backup)
      rows.push(['API', 'peak RSS during the backup benchmark (2)', mib(backup.api_peak_rss_bytes)]);
    if (backup)
      rows.push(['agent', 'peak RSS during the backup benchmark (2)', mib(backup.agent_peak_rss_bytes)]);
    if (restore)
      rows.push(['agent', 'peak RSS during the restore benchmark (3)', mib(restore.agent_peak_rss_bytes)]);
    if (replication) {
      rows.push([
        'agent',
        'peak RSS replicating the `/add` and lag runs (5a, 5b)',
        mib(replication.agent_peak_rss_bytes),
      ]);
      rows.push([
        'agent',
        'peak RSS during the point-in-time restores (5d)',
        mib(replication.point_in_time.agent_peak_rss_bytes),
      ]);
    }
    if (memory)
      rows.push([
        'agent',
        `RSS over ${memory.backups} backups: fifth tenth → last tenth (medians)`,
        `${memory.rss_mib_early} → ${memory.rss_mib_late} (${pct(memory.growth)}, max ${memory.rss_mib_max})`,
      ]);
    table(['process', 'when', 'MiB'], rows);
    if (memory) line(`Agent RSS every 50 backups (MiB): ${memory.rss_mib_samples.join(', ')}.`);
    line();
  }
  if (replication) renderReplication(replication, line, table);
  return out.join('\n');
}

function renderReplication(r, line, table) {
  line(`## 5. Continuous replication, ${r.rows.toLocaleString('en')} rows (${megabytes(r.db_bytes)})`);
  line();
  line(
    `Load average of the machine (shared) at the start and the end of this benchmark: ${r.load_average_at_start.join(' ')}, ${r.load_average_at_end.join(' ')}.`,
  );
  line();
  const rows = [];
  for (const [load, o] of Object.entries(r.overhead)) {
    const name = load === 'saturated' ? 'saturated' : `steady ${o.overall_rate} req/s`;
    rows.push([
      name,
      'on',
      o.on.rps,
      o.on.p50_ms,
      o.on.p99_ms,
      o.on.errors,
      `${o.ratio_rps}×`,
      `${o.ratio_p99}×`,
    ]);
    rows.push([name, 'off', o.off.rps, o.off.p50_ms, o.off.p99_ms, o.off.errors, '1×', '1×']);
  }
  const first = Object.values(r.overhead)[0];
  line(
    `**a. \`/add\` with replication on and off** (two API + agent pairs on copies of the database, ${first.connections} connections, 3 alternating windows each, ${first.seconds} s in all):`,
  );
  line();
  table(['load', 'replication', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'req/s vs off', 'p99 vs off'], rows);
  line(
    '**b. Replication lag**: for each transaction, from its commit time (the time it stamped, read back from the segment) to the moment the segment holding it was durable (the ctime of the segment file: its rename into place, after its fsync).',
  );
  line();
  table(
    [
      'writes from',
      'writes/s acknowledged',
      'transactions/s',
      'writes per transaction',
      'segments',
      'lag p50 ms',
      'p99 ms',
      'max ms',
    ],
    [r.lag.api, r.lag.writer].map((l) => [
      l.source === 'API' ? 'the API (`/add`, group commit)' : 'a writer process, one row per transaction',
      l.acknowledged_per_s,
      l.transactions_per_s,
      l.writes_per_transaction,
      l.segments,
      l.p50_ms,
      l.p99_ms,
      l.max_ms,
    ]),
  );
  const p = r.point_in_time;
  const h = r.hour;
  line(
    `**c. Histories generated faster than real time** (a writer commits single-row transactions stamped ${p.history.step_us / 1000} and ${h.history.step_us / 1000} ms apart; the agent, the writer and the S3 server run on a clock ${r.speed}× faster than real time; see bench/README.md):`,
  );
  line();
  table(
    [
      'history',
      'transactions',
      'generated in',
      'segments',
      'transactions per segment',
      's per segment',
      'segment bytes',
    ],
    [p.history, h.history].map((g) => [
      historyName(g),
      g.transactions,
      `${round(g.real_ms / 1000)} s (${g.speed_achieved}×)`,
      g.segments,
      g.transactions_per_segment,
      g.seconds_per_segment,
      megabytes(g.segment_bytes),
    ]),
  );
  line(
    `**d. Point-in-time restore** to the last instant of ${historyName(p.history)} on a ${megabytes(p.history.base.size)} snapshot (${p.history.transactions} transactions replayed, ${p.rows_after.toLocaleString('en')} rows after), \`POST /restore?at=\`, the API serving; ${p.rounds} rounds:`,
  );
  line();
  table(
    [
      'from',
      'request → API serving (ms)',
      'each round',
      'plan, copy, replay, checks (ms)',
      'into the live database, safety snapshot included (ms)',
      'answered 409 (busy)',
    ],
    [
      ['the backup volume', p.local, 'local'],
      ['the bucket (s3rver), both volumes emptied', p.s3, 's3'],
    ].map(([name, x]) => [
      name,
      x.serving_ms,
      x.all_serving_ms.join(', '),
      x.prepare_ms,
      x.restore_step_ms,
      x.refused_busy,
    ]),
  );
  line(
    `**e. Bytes for ${historyName(h.history)}** (the database grew from ${megabytes(h.snapshot_bytes)} to ${megabytes(h.database_bytes_at_end)}):`,
  );
  line();
  table(
    [
      'where',
      'with replication',
      'snapshot',
      'segments',
      `snapshot-only: ${h.snapshot_only.copies} snapshots, one a minute`,
    ],
    [
      [
        'backup volume',
        megabytes(h.volume.bytes),
        megabytes(h.volume.snapshot_bytes),
        megabytes(h.volume.segment_bytes),
        megabytes(h.snapshot_only.bytes),
      ],
      [
        'uploaded to the bucket',
        megabytes(h.bucket.bytes),
        megabytes(h.bucket.snapshot_bytes),
        megabytes(h.bucket.segment_bytes),
        megabytes(h.snapshot_only.bytes),
      ],
    ],
  );
  line(
    `Segments: ${h.volume.segment_bytes_per_transaction} bytes per transaction. The ${h.snapshot_only.copies} snapshots are each the size of the database at their minute.`,
  );
  line();
}

function pct(x) {
  return `${x >= 0 ? '+' : ''}${round(x * 100)}%`;
}
