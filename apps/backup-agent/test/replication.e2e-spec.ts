import Database from 'better-sqlite3';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { migrate } from '@pra-kit/shared';
import { makeTempDir } from '@pra-kit/shared/testing';
import { Logger, systemClock } from '../src/core/ports';
import { PointInTimeUnavailableError } from '../src/core/errors';
import { SnapshotInChain } from '../src/core/replication.port';
import { ChainCatalog } from '../src/replication/chain.catalog';
import { LocalChainStore } from '../src/replication/local-chain.store';
import { BaseSnapshotTaker, Replicator } from '../src/replication/replicator';
import { openSegment } from '../src/replication/segment.codec';
import { recordState, rowsHash } from './support/db-state';

/**
 * Continuous replication against a real writer process: every instant recorded during a random
 * workload is restored exactly, and continuity breaks are detected, never papered over.
 */

/** A snapshot the harness took, with its file. */
type SnapshotFile = SnapshotInChain & { file: string };

const quiet: Logger = { log: () => undefined, warn: () => undefined, error: () => undefined };
/** Every writer process started, killed after each test whatever its outcome. */
const writers = new Set<ChildProcess>();
afterEach(() => {
  for (const w of writers) if (w.exitCode === null) w.kill('SIGKILL');
  writers.clear();
});
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class Harness {
  readonly dbPath: string;
  readonly backupDir: string;
  readonly store: LocalChainStore;
  readonly snapshots: SnapshotFile[] = [];
  replicator: Replicator | null = null;
  readonly catalog: ChainCatalog;
  writer: ChildProcess | null = null;
  writerOutput = '';

  constructor(
    readonly dir: string,
    backupDir = join(dir, 'backup'),
  ) {
    this.dbPath = join(dir, 'data', 'app.db');
    this.backupDir = backupDir;
    this.store = new LocalChainStore(this.backupDir);
    this.catalog = new ChainCatalog(
      this.store,
      async () => this.snapshots,
      () => {
        const s = this.replicator?.status();
        return s?.chain && s.state === 'following' ? { id: s.chain, durableUntilUs: s.durableUntilUs } : null;
      },
    );
  }

  seed(rows: number): void {
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    const db = new Database(this.dbPath);
    db.pragma('journal_mode = WAL');
    migrate(db);
    const insert = db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 0; i < rows; i++) insert.run('2026-01-01T00:00:00.000Z', `seed-${i}`);
    })();
    db.close();
  }

  /** A base snapshot like the agent's: a read transaction opened at the anchor, then the backup API. */
  readonly takeSnapshot: BaseSnapshotTaker = async (anchor) => {
    const file = join(this.backupDir, `snapshot-${this.snapshots.length + 1}.db`);
    mkdirSync(this.backupDir, { recursive: true });
    const source = new Database(this.dbPath, { fileMustExist: true });
    try {
      const where = anchor(() => {
        source.exec('BEGIN');
        source.prepare('SELECT count(*) FROM sqlite_master').get();
      });
      await source.backup(file);
      this.snapshots.push({
        backupId: `snapshot-${this.snapshots.length + 1}`,
        chain: where.id,
        tx: where.tx,
        timeUs: where.time_us,
        file,
      });
    } finally {
      source.close();
    }
  };

  /** A scheduled snapshot while following: anchored at an exact transaction of the live chain. */
  async chainSnapshot(): Promise<SnapshotFile | null> {
    const file = join(this.backupDir, `snapshot-${this.snapshots.length + 1}.db`);
    const source = new Database(this.dbPath, { fileMustExist: true });
    try {
      const where = (this.replicator as Replicator).anchorSnapshot(() => {
        source.exec('BEGIN');
        source.prepare('SELECT count(*) FROM sqlite_master').get();
      });
      if (!where) return null;
      await source.backup(file);
      const snapshot = {
        backupId: `snapshot-${this.snapshots.length + 1}`,
        chain: where.id,
        tx: where.tx,
        timeUs: where.time_us,
        file,
      };
      this.snapshots.push(snapshot);
      return snapshot;
    } finally {
      source.close();
    }
  }

  startReplicator(syncIntervalMs = 500): Replicator {
    this.replicator = new Replicator(
      { dbPath: this.dbPath, syncIntervalMs, retryMs: 200 },
      this.store,
      this.takeSnapshot,
      systemClock,
      quiet,
    );
    this.replicator.start();
    return this.replicator;
  }

  async waitFollowing(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.replicator?.status().state !== 'following') {
      if (Date.now() > deadline)
        throw new Error(`replication did not start: ${JSON.stringify(this.replicator?.status())}`);
      await sleep(50);
    }
  }

  startWriter(seed: number, mode: 'mixed' | 'small' = 'mixed'): void {
    this.writer = spawn(
      process.execPath,
      [join(__dirname, 'support', 'workload-writer.js'), this.dbPath, String(seed), '2', mode],
      {
        stdio: ['pipe', 'pipe', 'inherit'],
      },
    );
    this.writer.stdout?.on('data', (d) => (this.writerOutput += String(d)));
    writers.add(this.writer);
  }

  async command(line: string, expect: RegExp): Promise<void> {
    const before = this.writerOutput.length;
    this.writer?.stdin?.write(`${line}\n`);
    const deadline = Date.now() + 10_000;
    while (!expect.test(this.writerOutput.slice(before))) {
      if (Date.now() > deadline) throw new Error(`writer did not answer ${line}: ${this.writerOutput}`);
      await sleep(20);
    }
  }

  /** The writer's transaction count so far. */
  async progress(): Promise<string> {
    const before = this.writerOutput.length;
    this.writer?.stdin?.write('progress\n');
    const deadline = Date.now() + 10_000;
    while (!/transactions \d+/.test(this.writerOutput.slice(before))) {
      if (Date.now() > deadline) throw new Error(`writer did not answer: ${this.writerOutput}`);
      await sleep(20);
    }
    return /transactions (\d+)/.exec(this.writerOutput.slice(before))?.[0] ?? '';
  }

  async stopWriter(): Promise<void> {
    const writer = this.writer;
    if (!writer || writer.exitCode !== null) return;
    const exited = new Promise((r) => writer.once('exit', r));
    writer.stdin?.write('stop\n');
    await exited;
  }

  /** Restores `at` into a scratch file and returns its rows' hash. */
  async restoredAt(at: Date | 'latest'): Promise<{ hash: string; rows: number; integrity: string }> {
    const plan = await this.catalog.plan(at, new Date());
    const file = join(this.dir, 'restored.db');
    for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
    const base = this.snapshots.find((x) => x.backupId === plan.snapshot.backupId);
    if (!base) throw new Error(`no file for ${plan.snapshot.backupId}`);
    await this.catalog.materialize(plan, base.file, file);
    const db = new Database(file);
    try {
      return { ...rowsHash(db), integrity: String(db.pragma('integrity_check', { simple: true })) };
    } finally {
      db.close();
    }
  }
}

describe('continuous replication (real writer process)', () => {
  const tmp = makeTempDir('replication');
  afterAll(() => tmp.remove());

  it('restores each of 20 instants of a random workload exactly, across WAL restarts, large transactions and a VACUUM', async () => {
    const h = new Harness(join(tmp.path, 'equivalence'));
    h.seed(200);
    h.startReplicator(500);
    await h.waitFollowing();
    h.startWriter(20261130);
    const recorder = new Database(h.dbPath, { timeout: 10_000 });
    const states: { at: number; hash: string; rows: number }[] = [];
    const end = Date.now() + 60_000;
    let nextSnapshot = Date.now() + 15_000;
    while (Date.now() < end) {
      await sleep(1500 + Math.random() * 1500);
      states.push(recordState(recorder));
      if (Date.now() > nextSnapshot) {
        // Snapshots within the chain: later instants replay from the newest one before them.
        expect(await h.chainSnapshot()).not.toBeNull();
        nextSnapshot = Date.now() + 15_000;
      }
    }
    await h.stopWriter();
    recorder.close();
    await (h.replicator as Replicator).sync();
    const status = (h.replicator as Replicator).status();
    await (h.replicator as Replicator).stop();

    expect(h.writerOutput).toMatch(/stopped after \d+ transactions, [4-5] large, 2 VACUUM/);
    expect(states.length).toBeGreaterThanOrEqual(20);
    expect(status.breaksTotal).toBe(0);
    expect(status.walRestarts).toBeGreaterThan(2); // the chain crossed several WAL generations
    expect(h.snapshots.length).toBeGreaterThanOrEqual(3);
    expect(new Set(h.snapshots.map((x) => x.chain)).size).toBe(1);
    const [chain] = await h.catalog.chains(new Date());
    expect(chain.transactions).toBeGreaterThan(500);
    expect(chain.snapshots).toEqual(h.snapshots.map((x) => x.backupId));

    const picked = states.sort(() => Math.random() - 0.5).slice(0, 20);
    const mismatches: string[] = [];
    const bases = new Set<string>();
    for (const state of picked) {
      bases.add((await h.catalog.plan(new Date(state.at), new Date())).snapshot.backupId);
      const restored = await h.restoredAt(new Date(state.at));
      if (restored.hash !== state.hash || restored.integrity !== 'ok') {
        mismatches.push(
          `${new Date(state.at).toISOString()}: rows ${restored.rows} vs ${state.rows}, ${restored.integrity}`,
        );
      }
    }
    expect(mismatches).toEqual([]);
    expect(bases.size).toBeGreaterThan(1); // restores started from several snapshots of the chain
  }, 180_000);

  it('ends the chain when the WAL was truncated while the agent was stopped; the old chain stays restorable to its end', async () => {
    const h = new Harness(join(tmp.path, 'truncated'));
    h.seed(50);
    h.startReplicator(300);
    await h.waitFollowing();
    h.startWriter(7);
    await sleep(3000);
    const replicator = h.replicator as Replicator;
    // Stop the agent cleanly (everything committed is shipped), then note the state it saw last.
    await replicator.stop();
    const recorder = new Database(h.dbPath, { timeout: 10_000 });
    const lastShipped = replicator.status().durableUntilUs as number;
    // The writer keeps writing and checkpoints with TRUNCATE: the frames after the chain's end are gone.
    await sleep(500);
    await h.command('truncate', /truncated/);
    await sleep(1500);
    const gapInstant = Date.now();
    await sleep(50);
    h.startReplicator(300);
    await h.waitFollowing();
    await sleep(1500);
    await h.stopWriter();
    const final = recordState(recorder);
    recorder.close();
    await (h.replicator as Replicator).sync();
    const status = (h.replicator as Replicator).status();
    await (h.replicator as Replicator).stop();

    const chains = await h.catalog.chains(new Date());
    expect(chains).toHaveLength(2);
    const [second, first] = chains;
    expect(first.status).toBe('ended');
    expect(first.end_reason).toMatch(/restarted while the agent was not following/);
    expect(status.breaksTotal).toBe(1);
    expect(h.snapshots.map((s) => s.chain)).toEqual([first.id, second.id]);
    // The first chain restores up to its last transaction; the instant in the gap is refused, named.
    const atEnd = await h.restoredAt(new Date(Math.floor(lastShipped / 1000)));
    expect(atEnd.integrity).toBe('ok');
    expect(new Date(first.to as string).getTime()).toBe(Math.floor(lastShipped / 1000));
    await expect(h.catalog.plan(new Date(gapInstant), new Date())).rejects.toThrow(
      PointInTimeUnavailableError,
    );
    await expect(h.catalog.plan(new Date(gapInstant), new Date())).rejects.toThrow(
      /not in a restorable range/,
    );
    // The second chain restores the final state.
    const latest = await h.restoredAt('latest');
    expect(latest.hash).toBe(final.hash);
  }, 120_000);
});

/** A real small filesystem (tmpfs) for the backup volume, or null where mounting is impossible. */
function mountSmallVolume(dir: string, size: string): (() => void) | null {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    console.warn(
      `SKIPPED the full-volume test: cannot mount a tmpfs (${(err as Error).message.split('\n')[0]}); run as root`,
    );
    return null;
  }
  return () => execFileSync('umount', ['-l', dir]);
}

describe('continuous replication on a full backup volume', () => {
  const tmp = makeTempDir('replication-full');
  const volume = join(tmp.path, 'backup');
  const unmount = mountSmallVolume(volume, '32m');
  afterAll(() => {
    unmount?.();
    tmp.remove();
  });

  (unmount ? it : it.skip)(
    'fails cleanly (the writer unaffected, the WAL released, nothing partial listed) and resumes once space is freed',
    async () => {
      const h = new Harness(join(tmp.path, 'full'), volume);
      h.seed(50);
      h.replicator = new Replicator(
        { dbPath: h.dbPath, syncIntervalMs: 300, retryMs: 300, maxFailingMs: 2000 },
        h.store,
        h.takeSnapshot,
        systemClock,
        quiet,
      );
      h.replicator.start();
      await h.waitFollowing();
      // Fill the volume but for ~300 KB, then write: segments soon stop fitting.
      const free = statfsSync(volume).bavail * statfsSync(volume).bsize;
      writeFileSync(join(volume, 'filler'), Buffer.alloc(Math.max(0, free - 300 * 1024)));
      h.startWriter(99, 'small');
      const deadline = Date.now() + 60_000;
      while ((h.replicator.status().breaksTotal ?? 0) === 0) {
        if (Date.now() > deadline) throw new Error(`no break: ${JSON.stringify(h.replicator.status())}`);
        await sleep(100);
      }
      const broken = h.replicator.status();
      expect(broken.lastBreak?.reason).toMatch(/segments could not be written .*ENOSPC|no space/i);
      // The writer keeps committing while replication is down, and the WAL no longer grows: the
      // writer's own checkpoints restart it once nothing pins it.
      // A new chain needs room for its snapshot: meanwhile the replicator waits, tries again every
      // retryMs (state "starting" for the attempt), and never follows.
      const before = Number(/(\d+)/.exec(await h.progress())?.[1]);
      const states = new Set<string>();
      for (const until = Date.now() + 3000; Date.now() < until; await sleep(50))
        states.add(h.replicator.status().state);
      expect(Number(/(\d+)/.exec(await h.progress())?.[1])).toBeGreaterThan(before);
      expect(statSync(`${h.dbPath}-wal`).size).toBeLessThan(16 * 1024 * 1024);
      expect(states).toContain('waiting');
      expect([...states].filter((s) => s !== 'waiting' && s !== 'starting')).toEqual([]);
      // Nothing partial is listed: every listed segment is whole and checks out.
      for (const chain of await h.store.listChains()) {
        for (const s of await h.store.listSegments(chain.id)) {
          expect(() =>
            openSegment(
              readFileSync(join(volume, 'chains', chain.id, `${String(s.seq).padStart(10, '0')}.seg`)),
            ),
          ).not.toThrow();
        }
      }
      // Space comes back: replication resumes by itself with a new chain.
      rmSync(join(volume, 'filler'));
      const resumeBy = Date.now() + 30_000;
      while (h.replicator.status().state !== 'following' || h.snapshots.length < 2) {
        if (Date.now() > resumeBy)
          throw new Error(
            `did not resume: ${JSON.stringify(h.replicator.status())}; db ${statSync(h.dbPath).size} bytes; ` +
              `volume ${JSON.stringify(execFileSync('du', ['-ab', volume]).toString())}`,
          );
        await sleep(100);
      }
      await sleep(1500);
      await h.stopWriter();
      await h.replicator.sync();
      const resumed = h.replicator.status();
      await h.replicator.stop();
      expect(resumed.segmentsWritten).toBeGreaterThan(broken.segmentsWritten);
      const chains = await h.catalog.chains(new Date());
      expect(chains.map((c) => c.status)).toEqual(['ended', 'ended']);
      expect(chains[1].end_reason).toMatch(/could not be written/);
      const latest = await h.restoredAt('latest');
      expect(latest.integrity).toBe('ok');
    },
    120_000,
  );
});
