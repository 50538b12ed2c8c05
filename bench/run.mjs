#!/usr/bin/env node
// Runs the benchmarks of bench/README.md against the built apps (`make bench` builds them first)
// and writes bench/results/latest.json and latest.md.
//
//   node bench/run.mjs                      # everything (what `make bench` runs)
//   node bench/run.mjs --only api,backup    # some suites; results go to tmp/bench-results
//
// Knobs (environment): BENCH_SECONDS per load run (10), BENCH_ROUNDS per backup/restore method (5),
// BENCH_BACKUPS for the memory suite (1000), BENCH_WORK_DIR (tmp/bench).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { emptyTemplate } from './lib/db.mjs';
import { describeMachine } from './lib/machine.mjs';
import { evaluateTargets, renderMarkdown } from './lib/report.mjs';
import { AGENT_ENTRY, API_ENTRY, REPO_ROOT } from './lib/services.mjs';
import { round } from './lib/stats.mjs';
import { apiSuite } from './suites/api.mjs';
import { backupSuite } from './suites/backup.mjs';
import { memorySuite } from './suites/memory.mjs';
import { replicationSuite } from './suites/replication.mjs';
import { restoreSuite } from './suites/restore.mjs';

const SUITES = {
  api: apiSuite,
  backup: backupSuite,
  restore: restoreSuite,
  memory: memorySuite,
  replication: replicationSuite,
};

const onlyArg = process.argv.indexOf('--only');
const only = onlyArg > 0 ? process.argv[onlyArg + 1].split(',') : Object.keys(SUITES);
for (const name of only)
  if (!SUITES[name]) throw new Error(`unknown suite ${name} (${Object.keys(SUITES).join(', ')})`);
const partial = only.length < Object.keys(SUITES).length;

const env = (name, fallback) => Number(process.env[name] ?? fallback);
const workDir = process.env.BENCH_WORK_DIR ?? join(REPO_ROOT, 'tmp/bench');
const outDir = partial ? join(REPO_ROOT, 'tmp/bench-results') : join(REPO_ROOT, 'bench/results');
const started = performance.now();
const log = (message) => console.log(`[${round((performance.now() - started) / 1000)}s] ${message}`);

for (const entry of [API_ENTRY, AGENT_ENTRY]) {
  if (!existsSync(entry)) throw new Error(`${entry} is missing: run "make build" (make bench does)`);
}
rmSync(workDir, { recursive: true, force: true });
mkdirSync(workDir, { recursive: true });

const context = {
  workDir,
  log,
  seconds: env('BENCH_SECONDS', 10),
  connections: 16,
  rounds: env('BENCH_ROUNDS', 5),
  backups: env('BENCH_BACKUPS', 1000),
  template: await emptyTemplate(workDir),
};
const results = { date: new Date().toISOString(), machine: describeMachine(workDir) };
log(`machine: ${JSON.stringify(results.machine)}`);
for (const name of only) results[name] = await SUITES[name](context);
results.targets = evaluateTargets(results);
results.duration_s = Math.round((performance.now() - started) / 1000);

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, 'latest.json'), `${JSON.stringify(results, null, 2)}\n`);
writeFileSync(join(outDir, 'latest.md'), renderMarkdown(results));
rmSync(workDir, { recursive: true, force: true, maxRetries: 3 });
for (const t of results.targets) log(`${t.holds ? 'holds' : 'DOES NOT HOLD'}: ${t.name}: ${t.measured}`);
log(`results in ${join(outDir, 'latest.md')} and latest.json`);
