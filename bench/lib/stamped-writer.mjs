#!/usr/bin/env node
// A writer process for the replication benchmark: single-row transactions on the API's database,
// each stamping its commit time exactly as the API does (counters row `committed_at_us`, inside the
// transaction; libs/shared db-schema.ts STAMP_COMMIT_SQL), so the agent sees what it sees under
// the API. Prints one JSON line when done.
//
//   node stamped-writer.mjs <db> schedule <first µs> <step µs> <count> <chain dir> <ahead µs>
//       A history faster than real time (with bench/lib/fast-clock.cjs preloaded): transaction i
//       is stamped first + i * step and committed no earlier than its stamp on this process's
//       clock (never ahead of the agent's, which runs on the same one), and no more than `ahead` µs
//       of stamps past the last transaction durable in <chain dir> (read from its segments'
//       footers): a segment then holds what it would hold in real time, even when the agent is
//       slower than the accelerated clock.
//   node stamped-writer.mjs <db> rate <transactions per second> <seconds>
//       Paced at a fixed rate on the real clock, stamped with the commit clock (the wall clock in
//       µs, strictly increasing), like the API's.
//
// synchronous=NORMAL and no automatic checkpoint: the WAL frames, which are all the agent reads,
// are the same; the agent restarts the WAL itself (at 1000 frames, as SQLite's autocheckpoint
// would), and an fsync per commit or a checkpoint attempt per commit would only slow the writer
// down. The write lock is retried every 0.1 ms when busy, instead of SQLite's busy handler that
// sleeps 1, 2, 5, 10 ms... (the agent holds the lock for a moment at each WAL restart).
import Database from 'better-sqlite3';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { footerOf } from './segments.mjs';

const [dbPath, mode, ...args] = process.argv.slice(2);
const MESSAGE_LENGTH = 42; // as bench/lib/db.mjs: 1M rows make the ~77 MB database

const db = new Database(dbPath, { fileMustExist: true, timeout: 0 });
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 0');
const insert = db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
const stampCommit = db.prepare("INSERT OR REPLACE INTO counters (name, value) VALUES ('committed_at_us', ?)");
const transaction = db.transaction((stampUs, n) => {
  insert.run(new Date(Math.floor(stampUs / 1000)).toISOString(), `writer ${n} `.padEnd(MESSAGE_LENGTH, '.'));
  stampCommit.run(stampUs);
});

const realStart = process.hrtime.bigint(); // the real clock: the fast clock does not touch hrtime
const pause = new Int32Array(new SharedArrayBuffer(4));
let done = 0;
let busyRetries = 0;
let firstUs = null;
let lastUs = null;

function write(stampUs) {
  for (;;) {
    try {
      transaction.immediate(stampUs, done);
      break;
    } catch (err) {
      if (err.code !== 'SQLITE_BUSY') throw err;
      busyRetries++;
      Atomics.wait(pause, 0, 0, 0.1);
    }
  }
  done++;
  firstUs ??= stampUs;
  lastUs = stampUs;
}

function finish(extra = {}) {
  db.close();
  const realMs = Number((process.hrtime.bigint() - realStart) / 1_000_000n);
  const result = { transactions: done, first_us: firstUs, last_us: lastUs, busy_retries: busyRetries };
  process.stdout.write(`${JSON.stringify({ ...result, ...extra, real_ms: realMs })}\n`);
}

/** The commit time of the last transaction durable in a chain directory (its newest segment's footer). */
function durableTracker(chainDir) {
  let seq = 0;
  let untilUs = null;
  return () => {
    for (;;) {
      const next = join(chainDir, `${String(seq + 1).padStart(10, '0')}.seg`);
      if (!existsSync(next)) return untilUs;
      untilUs = footerOf(readFileSync(next)).last_time_us;
      seq++;
    }
  };
}

if (mode === 'schedule') {
  const [first, step, count] = args.slice(0, 3).map(Number);
  const [chainDir, aheadUs] = [args[3], Number(args[4])];
  const durableUntil = durableTracker(chainDir);
  let waits = 0;
  const loop = () => {
    const clockDue = Math.floor((Date.now() * 1000 - first) / step) + 1;
    const ceilingUs = (durableUntil() ?? first) + aheadUs;
    const due = Math.min(count, clockDue, Math.floor((ceilingUs - first) / step) + 1);
    if (due === Math.floor((ceilingUs - first) / step) + 1 && due < clockDue) waits++;
    while (done < due) write(first + done * step);
    if (done >= count) finish({ waits_for_agent: waits });
    else setTimeout(loop, 1);
  };
  loop();
} else if (mode === 'rate') {
  const [rate, seconds] = args.map(Number);
  const count = Math.round(rate * seconds);
  let last = 0;
  const loop = () => {
    const elapsedS = Number(process.hrtime.bigint() - realStart) / 1e9;
    const due = Math.min(count, Math.floor(elapsedS * rate) + 1);
    while (done < due) write((last = Math.max(Date.now() * 1000, last + 1)));
    if (done >= count) finish();
    else setTimeout(loop, 1);
  };
  loop();
} else {
  throw new Error(
    'usage: stamped-writer.mjs <db> schedule <first µs> <step µs> <count> <chain dir> <ahead µs> | rate <tx/s> <seconds>',
  );
}
