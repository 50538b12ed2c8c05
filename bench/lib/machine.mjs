// What the numbers were measured on: they only compare within one run, but say where.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { median, round } from './stats.mjs';

export function describeMachine(workDir) {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpu_model: cpus[0]?.model?.trim() ?? 'unknown',
    memory_gb: round(os.totalmem() / 1024 ** 3),
    os: osName(),
    kernel: os.release(),
    node: process.version,
    sqlite_library: new Database(':memory:').prepare('SELECT sqlite_version() AS v').get().v,
    sqlite3_cli: spawnSync('sqlite3', ['--version'], { encoding: 'utf8' }).stdout?.split(' ')[0] ?? null,
    fsync_ms: fsyncLatency(workDir),
    load_average_at_start: os.loadavg().map(round),
  };
}

function osName() {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? os.type();
  } catch {
    return os.type();
  }
}

/**
 * Median time of a 4 KB write + fsync in the work directory: the floor under every durable commit
 * (a laptop SSD is ~0.05-2 ms, a network disk several ms). The /add ratio depends on it.
 */
function fsyncLatency(dir) {
  const path = join(dir, 'fsync-probe');
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(4096, 1);
  const times = [];
  try {
    for (let i = 0; i < 200; i++) {
      const t0 = performance.now();
      writeSync(fd, block);
      fsyncSync(fd);
      times.push(performance.now() - t0);
    }
  } finally {
    closeSync(fd);
    rmSync(path, { force: true });
  }
  return round(median(times));
}
