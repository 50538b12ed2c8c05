import { makeTempDir, seedEventsDb } from '@pra-kit/shared/testing';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { listObjectNames, S3TestServer, sha256, startS3Server } from '../../test/support/s3-server';
import { buildBackupAgent } from '../agent.factory';
import { BackupAgent } from '../core/backup-agent';
import { offsiteJournalFile } from './offsite.factory';
import { OffsiteReplicator } from './offsite.replicator';
import { retryDelayMs } from './retry.backoff';
import { Logger } from '../core/ports';
import { RetentionPolicy } from '../core/retention.policy';
import { S3Store, S3StoreOptions } from '../stores/s3.store';

describe('retryDelayMs', () => {
  it('doubles from the base with each failure in a row, capped', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => retryDelayMs(n, 1000, 10_000))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
    expect(retryDelayMs(10_000, 1000, 300_000)).toBe(300_000);
    expect(retryDelayMs(0, 250, 1000)).toBe(250);
  });
});

describe('OffsiteReplicator (real SQLite files, real S3 server)', () => {
  let server: S3TestServer;
  beforeAll(async () => (server = await startS3Server()));
  afterAll(() => server.close());

  const KEEP_ALL: RetentionPolicy = { keepLast: 1000, hourly: 0, daily: 0, weekly: 0 };
  let temp: ReturnType<typeof makeTempDir>;
  let now: number;
  let logs: string[];
  const started: OffsiteReplicator[] = [];
  const clock = { now: () => new Date(now) };
  const logger: Logger = {
    log: (m) => logs.push(m),
    warn: (m) => logs.push(`WARN ${m}`),
    error: (m) => logs.push(`ERROR ${m}`),
  };
  const dbPath = () => join(temp.path, 'data', 'app.db');
  const backupDir = () => join(temp.path, 'backup');

  beforeEach(() => {
    temp = makeTempDir('replicator');
    now = Date.UTC(2026, 10, 22, 9, 0, 0);
    logs = [];
    seedEventsDb(dbPath(), 50);
  });
  afterEach(async () => {
    await Promise.all(started.splice(0).map((r) => r.stop()));
    temp.remove();
  });

  /** An agent with offsite copies, built like the app builds it. */
  async function offsiteAgent(
    options: { s3?: S3StoreOptions; retention?: RetentionPolicy; start?: boolean } = {},
  ) {
    const s3 = options.s3 ?? server.storeOptions();
    const agent = buildBackupAgent(
      {
        dbPath: dbPath(),
        backupDir: backupDir(),
        verify: 'quick',
        retention: KEEP_ALL,
        offsite: {
          s3,
          retention: options.retention ?? KEEP_ALL,
          retryBaseMs: 50,
          retryMaxMs: 200,
          waitSeconds: 10,
          syncIntervalMs: 1000,
        },
      },
      { clock, logger },
    );
    const offsite = agent.offsite as OffsiteReplicator;
    if (options.start !== false) {
      await offsite.start();
      started.push(offsite);
    }
    return { agent, offsite, s3 };
  }

  /** A backup a minute after the previous one, with `rows` more events. */
  async function backup(agent: BackupAgent, rows = 1) {
    now += 60_000;
    seedEventsDb(dbPath(), rows);
    return agent.backup('scheduled');
  }

  const offsiteIds = async (bucket: string) =>
    (await listObjectNames(server.minio, bucket, 'pra/'))
      .filter((n) => n.endsWith('.json'))
      .map((n) => n.slice(4, -5));
  const journal = () =>
    JSON.parse(readFileSync(offsiteJournalFile(backupDir()), 'utf8')) as { pending: { id: string }[] };

  it('uploads each new backup; the catalog says "both"; the object matches the local file', async () => {
    const { agent, offsite, s3 } = await offsiteAgent();
    const m = await backup(agent);
    expect(await offsite.drain(5000)).toBe(true);
    expect(await offsiteIds(s3.bucket)).toEqual([m.id]);
    const stat = await server.minio.statObject(s3.bucket, `pra/${m.id}.db`);
    expect(stat.metaData['sha256']).toBe(m.sha256);
    expect(sha256(readFileSync(agent.local.pathOf(m.id)))).toBe(m.sha256);
    expect(offsite.stateOf(m.id)).toEqual({ state: 'uploaded', uploaded_at: new Date(now).toISOString() });
    expect(await agent.list()).toEqual([
      expect.objectContaining({
        id: m.id,
        location: 'both',
        offsite: expect.objectContaining({ state: 'uploaded' }),
      }),
    ]);
    expect(offsite.status()).toMatchObject({
      healthy: true,
      pending: 0,
      uploadsTotal: 1,
      failuresTotal: 0,
      remoteBackups: 1,
    });
    expect(journal().pending).toEqual([]);
  });

  it('keeps backing up while S3 is down; every backup taken meanwhile is uploaded when it is back', async () => {
    const { agent, offsite, s3 } = await offsiteAgent();
    const first = await backup(agent);
    expect(await offsite.drain(5000)).toBe(true);

    await server.kill9();
    const during = [];
    try {
      for (let i = 0; i < 4; i++) during.push(await backup(agent, 10));
      await until(() => offsite.status().failuresTotal >= 2); // retried with backoff
      expect(await offsite.drain(100)).toBe(false);
      // Local backups are unaffected: all there, all verified.
      expect((await agent.local.list()).map((b) => b.id)).toEqual(
        [...during.map((m) => m.id)].reverse().concat(first.id),
      );
      const status = offsite.status();
      expect(status).toMatchObject({
        healthy: false,
        pending: 4,
        lastError: { code: 'OFFSITE_UNAVAILABLE' },
      });
      expect(status.oldestPendingCreatedAt).toEqual(new Date(during[0].created_at));
      expect(status.lastError?.message).toMatch(
        new RegExp(`s3://${s3.bucket}/pra/ at ${server.endpoint}: .*ECONNREFUSED`),
      );
      expect(
        journal()
          .pending.map((e) => e.id)
          .sort(),
      ).toEqual(during.map((m) => m.id).sort());
      const states = during.map((m) => offsite.stateOf(m.id));
      expect(states.every((s) => s?.state === 'pending' || s?.state === 'failed')).toBe(true);
      expect(
        states.some(
          (s) =>
            s?.state === 'failed' &&
            (s.attempts ?? 0) >= 1 &&
            /ECONNREFUSED|ECONNRESET|socket hang up/.test(s.last_error ?? ''),
        ),
      ).toBe(true);
      expect(logs.filter((l) => l.startsWith('ERROR'))).toEqual([
        expect.stringMatching(
          new RegExp(
            `^ERROR offsite copies failed: cannot \\w+ .*s3://${s3.bucket}/pra/ at ${server.endpoint}: .*Local backups are not affected`,
          ),
        ),
      ]);
    } finally {
      await server.start();
    }
    expect(await offsite.drain(5000)).toBe(true);
    expect((await offsiteIds(s3.bucket)).sort()).toEqual([first, ...during].map((m) => m.id).sort());
    expect(offsite.status()).toMatchObject({ healthy: true, pending: 0, lastError: null, uploadsTotal: 5 });
    expect(journal().pending).toEqual([]);
    expect(logs.some((l) => /works again after \d+ failed attempt/.test(l))).toBe(true);
  });

  it('a restarted replicator finishes the uploads journaled by the previous one', async () => {
    const down = server.storeOptions({ endpoint: 'http://127.0.0.1:9' }); // nothing listens there
    const before = await offsiteAgent({ s3: down });
    const ids = [(await backup(before.agent)).id, (await backup(before.agent)).id];
    await before.offsite.stop();
    expect(
      journal()
        .pending.map((e) => e.id)
        .sort(),
    ).toEqual(ids.sort());

    const after = await offsiteAgent({ s3: { ...down, endpoint: server.endpoint } });
    expect(await after.offsite.drain(5000)).toBe(true);
    expect((await offsiteIds(down.bucket)).sort()).toEqual(ids.sort());
    expect(logs).toContain('offsite: 2 upload(s) pending from the journal');
  });

  it('catches up local backups missing offsite, except those offsite retention would prune at once', async () => {
    const { agent } = await offsiteAgent({ start: false }); // offsite configured but not running yet
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push((await backup(agent)).id);
    rmSync(offsiteJournalFile(backupDir()));

    const { offsite, s3 } = await offsiteAgent({
      retention: { keepLast: 2, hourly: 0, daily: 0, weekly: 0 },
    });
    expect(await offsite.drain(5000)).toBe(true);
    expect((await offsiteIds(s3.bucket)).sort()).toEqual(ids.slice(2).sort());
    expect(logs.some((l) => l.startsWith('offsite catch-up: 2 local backup(s)'))).toBe(true);
  });

  it('prunes offsite with its own policy, never the newest verified backup', async () => {
    const retention = { keepLast: 1, hourly: 0, daily: 0, weekly: 0 };
    const { agent, offsite, s3 } = await offsiteAgent({ retention });
    const ids = [];
    for (let i = 0; i < 3; i++) {
      ids.push((await backup(agent)).id);
      expect(await offsite.drain(5000)).toBe(true);
    }
    expect(await offsiteIds(s3.bucket)).toEqual([ids[2]]);
    expect(offsite.status()).toMatchObject({ prunedTotal: 2, remoteBackups: 1 });
    expect(existsSync(agent.local.pathOf(ids[0]))).toBe(true); // local retention is separate

    // A newer offsite entry without a usable manifest does not push the newest verified one out.
    const unverified = `app-${Math.floor(now / 1000) + 600}`;
    await server.minio.putObject(s3.bucket, `pra/${unverified}.db`, Buffer.from('junk'));
    await server.minio.putObject(s3.bucket, `pra/${unverified}.json`, Buffer.from('{"not":"a manifest"}'));
    ids.push((await backup(agent)).id);
    expect(await offsite.drain(5000)).toBe(true);
    expect((await offsiteIds(s3.bucket)).sort()).toEqual([ids[3], unverified].sort());
  });

  it('a backup refused by the store (another backup under its id) does not hold up the others', async () => {
    const s3 = server.storeOptions();
    const { agent, offsite } = await offsiteAgent({ s3, start: false });
    const clash = await backup(agent);
    await new S3Store(s3).prepare();
    await server.minio.putObject(s3.bucket, `pra/${clash.id}.db`, Buffer.from('someone else'), undefined, {
      'X-Amz-Meta-Sha256': 'f'.repeat(64),
    });
    await offsite.start();
    started.push(offsite);
    const next = await backup(agent);
    // Newest first: `next` may go up before the clash is even tried; wait for both outcomes.
    await until(
      () => offsite.stateOf(next.id)?.state === 'uploaded' && offsite.stateOf(clash.id)?.state === 'failed',
    );
    expect(offsite.stateOf(clash.id)).toMatchObject({
      state: 'failed',
      attempts: expect.any(Number),
      last_error: expect.stringMatching(/already holds another backup/),
    });
    expect(offsite.status()).toMatchObject({ healthy: true, pending: 1 });
    expect((await server.minio.statObject(s3.bucket, `pra/${clash.id}.db`)).size).toBe('someone else'.length); // untouched
    expect(logs.some((l) => l.startsWith(`ERROR offsite copy of ${clash.id} refused`))).toBe(true);
    expect(existsSync(agent.local.pathOf(clash.id))).toBe(true);
  });

  it('drops a backup that local retention removed before it could be uploaded', async () => {
    const down = server.storeOptions({ endpoint: 'http://127.0.0.1:9' });
    const { agent, offsite } = await offsiteAgent({ s3: down });
    const gone = await backup(agent);
    await agent.local.remove(gone.id);
    await offsite.stop();
    const after = await offsiteAgent({ s3: { ...down, endpoint: server.endpoint } });
    expect(await after.offsite.drain(5000)).toBe(true);
    expect(await offsiteIds(down.bucket)).toEqual([]);
    expect(logs.some((l) => l.includes(`offsite copy of ${gone.id} skipped: it was removed locally`))).toBe(
      true,
    );
  });
});

async function until(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
