// A random write workload on a WAL database, run as its own process by the replication tests.
// Every write transaction stamps its commit time the way the API does (counters.committed_at_us).
// Mix: small inserts (most), deletes, every 12 s a transaction larger than the WAL's checkpoint
// threshold (over 1000 pages), every 25 s a VACUUM; SQLite's automatic checkpoints run as in the
// API (1000 pages).
// Commands on stdin, one per line: "truncate" (a TRUNCATE checkpoint), "progress" (prints the
// transactions committed so far), "stop" (exit 0).
// Usage: node workload-writer.js <db> <seed> [pauseMs] [small]  (small: no large transaction, no VACUUM)
const Database = require('better-sqlite3');

const [path, seedText, pauseText, mode] = process.argv.slice(2);
const small = mode === 'small';
const db = new Database(path, { timeout: 10000 });
db.pragma('journal_mode = WAL');
let last = 0;
const stamp = () => (last = Math.max(Date.now() * 1000, last + 1));
const insert = db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
const remove = db.prepare('DELETE FROM events WHERE id IN (SELECT id FROM events ORDER BY random() LIMIT ?)');
const stampCommit = db.prepare("INSERT OR REPLACE INTO counters (name, value) VALUES ('committed_at_us', ?)");
let seed = Number(seedText) || 1;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const pauseMs = Number(pauseText ?? 2);
let n = 0;
let stopping = false;
let transactions = 0;
const started = Date.now();
let bigDone = 0;
let vacuumsDone = 0;

process.stdin.setEncoding('utf8');
process.stdin.on('data', (text) => {
  for (const line of text.split('\n')) {
    if (line === 'truncate') {
      const [r] = db.pragma('wal_checkpoint(TRUNCATE)');
      process.stdout.write(`truncated ${JSON.stringify(r)}\n`);
    } else if (line === 'progress') {
      process.stdout.write(`transactions ${transactions}\n`);
    } else if (line === 'stop') {
      stopping = true;
    }
  }
});

function step() {
  if (stopping) {
    db.close();
    process.stdout.write(
      `stopped after ${transactions} transactions, ${bigDone} large, ${vacuumsDone} VACUUM\n`,
    );
    process.exit(0);
  }
  const r = rand();
  const elapsed = Date.now() - started;
  if (!small && elapsed > (vacuumsDone + 1) * 25_000) {
    db.exec('VACUUM');
    vacuumsDone++;
  } else {
    const big = !small && elapsed > (bigDone + 1) * 12_000;
    db.transaction(() => {
      if (r < 0.08) remove.run(1 + Math.floor(rand() * 20));
      const rows = big ? 20_000 : 1 + Math.floor(rand() * 4);
      for (let i = 0; i < rows; i++) {
        insert.run(new Date().toISOString(), `w-${n++}-${'x'.repeat(Math.floor(rand() * 400))}`);
      }
      stampCommit.run(stamp());
    }).immediate();
    if (big) bigDone++;
    transactions++;
  }
  setTimeout(step, rand() < 0.5 ? 0 : pauseMs);
}
step();
