import Database from 'better-sqlite3';
import { builtEntry, makeTempDir, seedEventsDb } from '@pra-kit/shared/testing';
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ChainView } from '../src/core/replication.port';
import { json, Layout, makeLayout, metric, startAgentProcess, until } from './support/agent-harness';
import {
  decryptObject,
  listObjectNames,
  newBucketName,
  readObject,
  S3TestServer,
  sha256,
  startS3Server,
} from './support/s3-server';
import { recordState, rowsHash } from './support/db-state';

/**
 * Continuous replication to a bucket, with real processes only: the built agent (`serve`), the
 * random workload of the local replication test in its own process, a real S3 server (s3rver,
 * killed for an outage), the minio client to look at the bucket independently, and the one-shot
 * CLI restoring with both volumes gone.
 */

const TOKEN = 'offsite-replication-token-0123';
const auth = { Authorization: `Bearer ${TOKEN}` };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The commit time the last transaction stamped (what the bucket's range ends at once writes stop). */
function lastCommitMs(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const row = db.prepare(`SELECT value FROM counters WHERE name = 'committed_at_us'`).get() as {
      value: number;
    };
    return Math.floor(row.value / 1000);
  } finally {
    db.close();
  }
}

/** Every file under a directory (recursively). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}

function fileState(path: string): { hash: string; rows: number; integrity: string } {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    return { ...rowsHash(db), integrity: String(db.pragma('integrity_check', { simple: true })) };
  } finally {
    db.close();
  }
}

/** The workload of the replication tests (support/workload-writer.js), as its own process. */
function startWriter(dbPath: string, seed: number, mode: 'mixed' | 'small'): ChildProcess & { out: string } {
  const child = spawn(
    process.execPath,
    [join(__dirname, 'support', 'workload-writer.js'), dbPath, String(seed), '2', mode],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  ) as ChildProcess & { out: string };
  child.out = '';
  child.stdout?.on('data', (d) => (child.out += String(d)));
  return child;
}

async function stopWriter(writer: ChildProcess): Promise<void> {
  if (writer.exitCode !== null) return;
  const exited = new Promise((r) => writer.once('exit', r));
  writer.stdin?.write('stop\n');
  await exited;
}

describe('replication offsite: segments in the bucket, restores with both volumes lost', () => {
  let s3: S3TestServer;
  const key = randomBytes(32);
  const tmp = makeTempDir('offsite-replication');
  const writers: ChildProcess[] = [];
  beforeAll(async () => (s3 = await startS3Server()));
  afterAll(async () => {
    for (const w of writers) if (w.exitCode === null) w.kill('SIGKILL');
    await s3.close();
    tmp.remove();
  });

  const agentEnv = (bucket: string, extra: Record<string, string> = {}) => ({
    ...s3.env(bucket, { S3_ENCRYPTION_KEY: key.toString('base64') }),
    BACKUP_TOKEN: TOKEN,
    BACKUP_REPLICATION: 'on',
    BACKUP_SYNC_INTERVAL: '1s',
    S3_SYNC_INTERVAL: '1s',
    BACKUP_KEEP_LAST: '1000',
    BACKUP_OFFSITE_RETRY_BASE_MS: '200',
    BACKUP_OFFSITE_RETRY_MAX_MS: '2000',
    ...extra,
  });

  /** The one-shot CLI on a database and backup volume of its own (both volumes lost: empty ones). */
  function cli(
    bucket: string,
    dbPath: string,
    backupDir: string,
    args: string[],
    extra: Record<string, string> = {},
  ) {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      DB_PATH: dbPath,
      BACKUP_DIR: backupDir,
      LOG_LEVEL: 'warn',
      ...agentEnv(bucket),
      ...extra,
    };
    return spawnSync(process.execPath, [builtEntry('backup-agent'), ...args], { env, encoding: 'utf8' });
  }

  /** A point-in-time restore from the bucket alone, into a fresh database and a fresh backup volume. */
  function restoreFromBucket(
    bucket: string,
    at: string | 'latest',
    args: string[] = [],
    extra: Record<string, string> = {},
  ) {
    const dir = join(tmp.path, `restore-${randomBytes(4).toString('hex')}`);
    const dbPath = join(dir, 'data', 'app.db');
    const backupDir = join(dir, 'backup');
    mkdirSync(backupDir, { recursive: true });
    const what = at === 'latest' ? ['--latest'] : ['--at', at];
    const run = cli(
      bucket,
      dbPath,
      backupDir,
      ['restore', '--offline', '--from', 's3', ...what, ...args],
      extra,
    );
    return { ...run, dbPath, backupDir };
  }

  const chainsOf = async (baseUrl: string) => json<ChainView[]>(await fetch(`${baseUrl}/chains`));

  /** Waits until the bucket restores up to `atMs` and every snapshot is there. */
  async function bucketCaughtUp(baseUrl: string, atMs: number, timeoutMs = 30_000): Promise<ChainView> {
    let chain: ChainView | undefined;
    await until(
      async () => {
        chain = (await chainsOf(baseUrl)).find((c) => c.status === 'live');
        return (
          !!chain?.offsite &&
          Date.parse(chain.offsite.to) >= atMs &&
          (await metric(baseUrl, 'pra_offsite_pending_uploads')) === 0
        );
      },
      timeoutMs,
      'the bucket caught up',
    );
    return chain as ChainView;
  }

  describe('one workload, then both volumes lost', () => {
    let layout: Layout;
    const bucket = newBucketName('pitr');
    let states: { at: number; hash: string; rows: number }[] = [];
    let chainId = '';
    /** The chain's segments as the bucket names them: seq -> key. */
    let segmentKeys = new Map<number, string>();
    /** When the chain's snapshots were taken (ms). */
    let snapshotTimes: number[] = [];

    beforeAll(() => {
      layout = makeLayout('offsite-pitr');
      seedEventsDb(layout.dbPath, 200, 'before');
    });
    afterAll(() => layout.remove());

    it('replays any instant from the bucket alone, exactly, with the backup volume deleted', async () => {
      const agent = await startAgentProcess(
        layout,
        agentEnv(bucket, { BACKUP_SCHEDULE: '*/15 * * * * *', BACKUP_PITR_WINDOW: '1h' }),
      );
      try {
        await until(
          async () => (await metric(agent.baseUrl, 'pra_replication_following')) === 1,
          20_000,
          'following',
        );
        const writer = startWriter(layout.dbPath, 20261130, 'mixed');
        writers.push(writer);
        const recorder = new Database(layout.dbPath, { timeout: 10_000 });
        const end = Date.now() + 40_000;
        while (Date.now() < end) {
          await sleep(1500 + Math.random() * 1500);
          states.push(recordState(recorder));
        }
        await stopWriter(writer);
        recorder.close();
        expect(writer.out).toMatch(/stopped after \d+ transactions, [3-4] large, 1 VACUUM/);

        // The bucket's range ends at the last commit (after it, it cannot know there was none).
        const lastCommit = lastCommitMs(layout.dbPath);
        states = states.filter((x) => x.at <= lastCommit);
        const chain = await bucketCaughtUp(agent.baseUrl, lastCommit);
        chainId = chain.id;
        expect(chain.offsite?.from).toBe(chain.from); // the bucket restores the same range
        expect(await metric(agent.baseUrl, 'pra_offsite_segments_backlog_bytes')).toBe(0);
        expect(await metric(agent.baseUrl, 'pra_offsite_segments_uploaded_total')).toBeGreaterThan(10);

        // GET /backups: each snapshot of the chain says what the bucket restores from it.
        const backups = await json<
          { id: string; created_at: string; chain: { offsite: { from: string; to: string } | null } | null }[]
        >(await fetch(`${agent.baseUrl}/backups`));
        snapshotTimes = backups.filter((b) => b.chain).map((b) => Date.parse(b.created_at));
        expect(backups.filter((b) => b.chain?.offsite).length).toBeGreaterThanOrEqual(3);
        // `list` says it in words.
        const list = cli(bucket, layout.dbPath, layout.backupDir, ['list']);
        expect(list.status).toBe(0);
        expect(list.stdout).toMatch(
          new RegExp(
            `${chainId}  (live |ended) .*\\n\\s+offsite  any instant from .* to .* \\(restore --at <instant> --from s3\\)`,
          ),
        );
      } finally {
        await agent.kill9();
      }

      // An independent look at the bucket (minio client): the chain's manifest and its segments,
      // each encrypted (the documented format), the same bytes as on the volume.
      const names = await listObjectNames(s3.minio, bucket, `chains/${chainId}/`);
      expect(names).toContain(`chains/${chainId}/chain.json`);
      const segments = names.filter((n) => n.endsWith('.seg'));
      const localSegments = readdirSync(join(layout.backupDir, 'chains', chainId)).filter((n) =>
        n.endsWith('.seg'),
      );
      expect(segments.length).toBe(localSegments.length);
      segmentKeys = new Map(segments.map((n) => [Number(/\/(\d{10})_/.exec(n)?.[1]), n]));
      expect([...segmentKeys.keys()]).toEqual(localSegments.map((_, i) => i + 1));
      for (const seq of [1, Math.ceil(segments.length / 2), segments.length]) {
        const name = segmentKeys.get(seq) as string;
        const file = `${String(seq).padStart(10, '0')}.seg`;
        const plain = decryptObject(await readObject(s3.minio, bucket, name), key, `${chainId}/${file}`);
        expect(sha256(plain)).toBe(sha256(readFileSync(join(layout.backupDir, 'chains', chainId, file))));
        const stat = await s3.minio.statObject(bucket, name);
        expect(stat.metaData['sha256']).toBe(plain.subarray(plain.length - 32).toString('hex'));
      }

      // Both volumes lost.
      rmSync(layout.backupDir, { recursive: true, force: true });
      rmSync(join(layout.dir, 'data'), { recursive: true, force: true });

      const picked = [...states].sort(() => Math.random() - 0.5).slice(0, 10);
      picked.push(states[states.length - 1]);
      expect(states.length).toBeGreaterThanOrEqual(12);
      const mismatches: string[] = [];
      for (const state of picked) {
        const at = new Date(state.at).toISOString();
        const run = restoreFromBucket(bucket, at);
        if (run.status !== 0) {
          mismatches.push(`${at}: exit ${run.status}: ${run.stderr.slice(-400)}`);
          continue;
        }
        const result = JSON.parse(run.stdout) as {
          restored: { from: string };
          point_in_time: { at: string };
        };
        expect(result.restored.from).toBe('s3');
        const restored = fileState(run.dbPath);
        if (restored.hash !== state.hash || restored.integrity !== 'ok')
          mismatches.push(`${at}: rows ${restored.rows} vs ${state.rows}, ${restored.integrity}`);
      }
      expect(mismatches).toEqual([]);
    }, 240_000);

    /** A segment's object name, and its first and last commit times (ms), read from the name. */
    function around(seq: number) {
      const name = segmentKeys.get(seq) as string;
      const [firstUs, lastUs] = (/_(\d+)-(\d+)\.seg$/.exec(name) as RegExpExecArray).slice(1).map(Number);
      return { name, firstMs: Math.floor(firstUs / 1000), lastMs: Math.floor(lastUs / 1000) };
    }

    it('a segment altered in the bucket: the restore through it is refused, naming it; before it still works', async () => {
      // A segment that a restore to a recorded instant must replay: no snapshot between its first
      // commit and that instant (a restore starts from the newest snapshot before the instant).
      const seqs = [...segmentKeys.keys()];
      const pick = seqs
        .slice(1)
        .map((seq) => {
          const { firstMs, lastMs } = around(seq);
          const after = states.find((x) => x.at > lastMs + 5);
          const before = [...states].reverse().find((x) => x.at < firstMs - 5);
          const covered = after && !snapshotTimes.some((t) => t >= firstMs - 5 && t <= after.at);
          return covered && before ? { seq, after, before } : null;
        })
        .find((x) => x !== null);
      expect(pick).toBeTruthy();
      const victim = (pick as { seq: number }).seq;
      const { name } = around(victim);
      const original = await readObject(s3.minio, bucket, name);
      const stat = await s3.minio.statObject(bucket, name);
      const altered = Buffer.from(original);
      altered[Math.floor(altered.length / 2)] ^= 0x01;
      await s3.minio.putObject(bucket, name, altered, altered.length, stat.metaData);
      try {
        const { after, before } = pick as { after: { at: number }; before: { at: number; hash: string } };
        const refused = restoreFromBucket(bucket, new Date((after as { at: number }).at).toISOString());
        expect(refused.status).toBe(4);
        expect(refused.stderr).toMatch(new RegExp(`segment ${victim} of ${chainId} .*(modified|does not)`));
        expect(existsSync(refused.dbPath)).toBe(false); // nothing written
        const ok = restoreFromBucket(bucket, new Date((before as { at: number }).at).toISOString());
        expect(ok.status).toBe(0);
        expect(fileState(ok.dbPath).hash).toBe((before as { hash: string }).hash);
      } finally {
        await s3.minio.putObject(bucket, name, original, original.length, stat.metaData);
      }
    }, 60_000);

    it('a segment deleted: refused with its name; --allow-gap restores up to the gap and says so', async () => {
      const seqs = [...segmentKeys.keys()];
      const victim = seqs[Math.floor(seqs.length / 3)];
      const { name } = around(victim);
      const previous = around(victim - 1);
      const original = await readObject(s3.minio, bucket, name);
      const stat = await s3.minio.statObject(bucket, name);
      await s3.minio.removeObject(bucket, name);
      try {
        const after = states.find((s) => s.at > around(victim).lastMs + 5) as { at: number };
        const at = new Date(after.at).toISOString();
        const refused = restoreFromBucket(bucket, at);
        expect(refused.status).toBe(4);
        expect(refused.stderr).toMatch(
          new RegExp(`${chainId} in s3://${bucket}/chains/: segment ${victim} is missing`),
        );
        expect(refused.stderr).toMatch(/--allow-gap/);
        expect(existsSync(refused.dbPath)).toBe(false);

        const gap = restoreFromBucket(bucket, at, ['--allow-gap']);
        expect(gap.status).toBe(0);
        const result = JSON.parse(gap.stdout) as {
          point_in_time: { stopped_at_gap: string; target_time: string };
        };
        expect(result.point_in_time.stopped_at_gap).toMatch(new RegExp(`segment ${victim} is missing`));
        expect(result.point_in_time.target_time).toBe(new Date(previous.lastMs).toISOString());
        expect(fileState(gap.dbPath).integrity).toBe('ok');
        // The state at the gap is the state recorded at any instant between the two segments, if one was.
        const between = states.find((s) => s.at >= previous.lastMs && s.at < around(victim).firstMs);
        if (between) expect(fileState(gap.dbPath).hash).toBe(between.hash);
      } finally {
        await s3.minio.putObject(bucket, name, original, original.length, stat.metaData);
      }
    }, 60_000);

    it('a wrong encryption key: a clear error, and nothing written', async () => {
      const at = new Date(states[states.length - 1].at).toISOString();
      const wrong = restoreFromBucket(bucket, at, [], {
        S3_ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      });
      expect(wrong.status).toBe(2);
      expect(wrong.stderr).toMatch(/key/i);
      expect(wrong.stderr).not.toMatch(/at .*\.js:\d+/); // a sentence, not a stack trace
      expect(existsSync(wrong.dbPath)).toBe(false);
      // Nothing but the agent's lock file: no download, no scratch copy left behind.
      expect(filesUnder(wrong.backupDir).map((f) => f.slice(wrong.backupDir.length))).toEqual([
        '/.agent.lock',
      ]);
    }, 30_000);

    it('POST /restore?at=…&from=s3 on an agent whose volumes are empty', async () => {
      const fresh = makeLayout('offsite-pitr-http');
      const agent = await startAgentProcess(fresh, agentEnv(bucket));
      try {
        const state = states[Math.floor(states.length / 2)];
        const at = new Date(state.at).toISOString();
        const res = await fetch(`${agent.baseUrl}/restore?at=${encodeURIComponent(at)}&from=s3`, {
          method: 'POST',
          headers: auth,
        });
        const body = await json<{
          restored: { from: string };
          rows_after: number;
          point_in_time: { at: string };
        }>(res);
        expect({ status: res.status, from: body.restored?.from, at: body.point_in_time?.at }).toEqual({
          status: 200,
          from: 's3',
          at,
        });
        expect(body.rows_after).toBe(state.rows);
        expect(fileState(fresh.dbPath).hash).toBe(state.hash);
        // An instant the bucket does not hold: 422, in words.
        const early = await fetch(`${agent.baseUrl}/restore?at=2020-01-01T00:00:00Z&from=s3`, {
          method: 'POST',
          headers: auth,
        });
        const refused = await json<{ code: string; message: string }>(early);
        expect({ status: early.status, code: refused.code }).toEqual({
          status: 422,
          code: 'POINT_IN_TIME_UNAVAILABLE',
        });
        expect(refused.message).toMatch(new RegExp(`not in a restorable range of s3://${bucket}/chains/`));
      } finally {
        await agent.kill9();
        fresh.remove();
      }
    }, 60_000);
  });

  it('S3 down for 2 minutes under writes: local replication goes on, the backlog catches up in order, nothing is missing', async () => {
    const layout = makeLayout('offsite-outage');
    seedEventsDb(layout.dbPath, 50, 'before');
    const bucket = newBucketName('outage');
    const agent = await startAgentProcess(layout, agentEnv(bucket));
    try {
      const writer = startWriter(layout.dbPath, 42, 'small');
      writers.push(writer);
      await until(
        async () => (await metric(agent.baseUrl, 'pra_offsite_segments_uploaded_total')) >= 1,
        30_000,
        'the first segment in the bucket',
      );
      await s3.kill9();
      await sleep(60_000);
      // Halfway: the bucket is behind and says so; the volume is not.
      expect(await metric(agent.baseUrl, 'pra_offsite_segments_healthy')).toBe(0);
      expect(await metric(agent.baseUrl, 'pra_offsite_segments_backlog_bytes')).toBeGreaterThan(0);
      expect(await metric(agent.baseUrl, 'pra_offsite_segments_lag_seconds')).toBeGreaterThan(50);
      expect(await metric(agent.baseUrl, 'pra_replication_lag_seconds')).toBeLessThan(5);
      const health = await json<{ conditions: { name: string; ok: boolean; message: string }[] }>(
        await fetch(`${agent.baseUrl}/health/backups`),
      );
      expect(health.conditions.find((c) => c.name === 'replication')?.ok).toBe(true);
      expect(health.conditions.find((c) => c.name === 'offsite_replication')).toMatchObject({
        ok: false,
        message: expect.stringMatching(/is failing .* segment\(s\) waiting/),
      });
      await sleep(60_000);
      await s3.start();
      await until(
        async () =>
          (await metric(agent.baseUrl, 'pra_offsite_segments_healthy')) === 1 &&
          (await metric(agent.baseUrl, 'pra_offsite_segments_backlog_bytes')) === 0,
        60_000,
        'the backlog uploaded',
      );
      await stopWriter(writer);
      const final = fileState(layout.dbPath);
      const chain = await bucketCaughtUp(agent.baseUrl, lastCommitMs(layout.dbPath));
      await agent.kill9();

      // Every local segment is in the bucket, numbered without a hole, with the same sha256, and
      // uploaded in order (each object is no newer than the next one).
      const local = readdirSync(join(layout.backupDir, 'chains', chain.id))
        .filter((n) => n.endsWith('.seg'))
        .sort();
      const objects: { name: string; lastModified: Date }[] = [];
      for await (const o of s3.minio.listObjectsV2(bucket, `chains/${chain.id}/`, true))
        objects.push(o as { name: string; lastModified: Date });
      const segs = objects.filter((o) => o.name.endsWith('.seg')).sort((a, b) => (a.name < b.name ? -1 : 1));
      expect(segs.map((o) => Number(/\/(\d{10})_/.exec(o.name)?.[1]))).toEqual(local.map((_, i) => i + 1));
      for (let i = 1; i < segs.length; i++)
        expect(segs[i].lastModified.getTime()).toBeGreaterThanOrEqual(segs[i - 1].lastModified.getTime());
      for (const [i, o] of segs.entries()) {
        const localBytes = readFileSync(join(layout.backupDir, 'chains', chain.id, local[i]));
        const stat = await s3.minio.statObject(bucket, o.name);
        expect(stat.metaData['sha256']).toBe(localBytes.subarray(localBytes.length - 32).toString('hex'));
      }
      expect(segs.length).toBeGreaterThan(60); // two minutes of writes made many segments

      // And the bucket alone restores the final state.
      const run = restoreFromBucket(bucket, 'latest');
      expect(run.status).toBe(0);
      expect(fileState(run.dbPath).hash).toBe(final.hash);
    } finally {
      await agent.kill9();
      layout.remove();
    }
  }, 300_000);
});
