import { BackupManifest, readCatalogDir } from '@pra-kit/shared';
import { builtEntry, readMessages, seedEventsDb } from '@pra-kit/shared/testing';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { offsiteJournalFile } from '../src/offsite/offsite.factory';
import { json, Layout, makeLayout, metric, startAgentProcess, until } from './support/agent-harness';
import {
  decryptObject,
  listObjectNames,
  newBucketName,
  readObject,
  S3TestServer,
  startS3Server,
} from './support/s3-server';

/** Log text without the ANSI colors Nest adds. */
const plain = (text: string) => text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');

/**
 * Offsite copies with real processes: the built agent, a real S3 server (s3rver, killed with
 * SIGKILL for outages), objects checked with the minio client, and the one-shot CLI.
 */
describe('offsite copies (real agent, real S3 server)', () => {
  let s3: S3TestServer;
  let layout: Layout;
  const key = randomBytes(32);
  const TOKEN = 'offsite-token-0123456789';
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const fast = {
    BACKUP_OFFSITE_RETRY_BASE_MS: '100',
    BACKUP_OFFSITE_RETRY_MAX_MS: '800',
    BACKUP_KEEP_LAST: '1000',
  };

  beforeAll(async () => (s3 = await startS3Server()));
  afterAll(() => s3.close());
  beforeEach(() => {
    layout = makeLayout('offsite');
    seedEventsDb(layout.dbPath, 100, 'before');
  });
  afterEach(() => layout.remove());

  const cli = (env: Record<string, string>, ...args: string[]) =>
    spawnSync(process.execPath, [builtEntry('backup-agent'), ...args], {
      env: { PATH: process.env['PATH'], DB_PATH: layout.dbPath, BACKUP_DIR: layout.backupDir, ...env },
      encoding: 'utf8',
    });
  const post = (baseUrl: string, path: string) =>
    fetch(`${baseUrl}${path}`, { method: 'POST', headers: auth });
  interface OffsiteReady {
    status: string;
    pending_uploads: number;
    error: { code: string; message: string } | null;
  }
  const ready = async (baseUrl: string) =>
    (await json<{ offsite: OffsiteReady }>(await fetch(`${baseUrl}/ready`))).offsite;

  /** Each local backup is offsite: metadata sha256 = local manifest, decrypted bytes = local file. */
  async function expectOffsite(bucket: string, manifests: readonly BackupManifest[]): Promise<void> {
    const names = await listObjectNames(s3.minio, bucket);
    for (const m of manifests) {
      expect(names).toEqual(expect.arrayContaining([`${m.id}.db`, `${m.id}.json`]));
      const stat = await s3.minio.statObject(bucket, `${m.id}.db`);
      expect({ id: m.id, sha256: stat.metaData['sha256'] }).toEqual({ id: m.id, sha256: m.sha256 });
      const bytes = decryptObject(await readObject(s3.minio, bucket, `${m.id}.db`), key, m.id);
      expect(bytes.equals(readFileSync(join(layout.backupDir, `${m.id}.db`)))).toBe(true);
    }
  }

  it('S3 down for a while: backups go on, /metrics and /ready show it, every backup ends up offsite', async () => {
    const bucket = newBucketName('outage');
    const agent = await startAgentProcess(layout, {
      ...s3.env(bucket, { S3_ENCRYPTION_KEY: key.toString('base64'), ...fast }),
      BACKUP_SCHEDULE: '* * * * * *',
      BACKUP_ON_START: 'true',
    });
    try {
      await until(
        async () => (await metric(agent.baseUrl, 'pra_offsite_uploads_total')) >= 2,
        15_000,
        'first uploads',
      );
      expect(await metric(agent.baseUrl, 'pra_offsite_healthy')).toBe(1);

      await s3.kill9();
      const downAt = Date.now();
      const takenAtKill = await metric(agent.baseUrl, 'pra_backup_taken_total');
      seedEventsDb(layout.dbPath, 50, 'during');
      await until(
        async () => (await metric(agent.baseUrl, 'pra_offsite_pending_uploads')) >= 3,
        15_000,
        'pending uploads',
      );
      expect(await metric(agent.baseUrl, 'pra_backup_taken_total')).toBeGreaterThanOrEqual(takenAtKill + 3);
      expect(await metric(agent.baseUrl, 'pra_backup_failures_total')).toBe(0); // local backups unaffected
      expect(await metric(agent.baseUrl, 'pra_offsite_healthy')).toBe(0);
      expect(await metric(agent.baseUrl, 'pra_offsite_upload_failures_total')).toBeGreaterThanOrEqual(1);
      expect(await metric(agent.baseUrl, 'pra_offsite_upload_lag_seconds')).toBeGreaterThan(1);
      const res = await fetch(`${agent.baseUrl}/ready`);
      expect(res.status).toBe(200); // a sidecar: an S3 outage must not take the API pod out of its Service
      expect((await json<{ offsite: unknown }>(res)).offsite).toMatchObject({
        status: 'failing',
        location: `s3://${bucket}/`,
        endpoint: s3.endpoint,
        encrypted: true,
        error: {
          code: 'OFFSITE_UNAVAILABLE',
          message: expect.stringMatching(/ECONNREFUSED|ECONNRESET|socket hang up/),
        },
      });
      const listed = await json<{ id: string; location: string; offsite: { state: string } }[]>(
        await fetch(`${agent.baseUrl}/backups`),
      );
      expect(
        listed.filter((b) => b.location === 'local' && ['pending', 'failed'].includes(b.offsite.state))
          .length,
      ).toBeGreaterThanOrEqual(3);

      await s3.start();
      const upAt = Date.now();
      await until(
        async () =>
          (await metric(agent.baseUrl, 'pra_offsite_healthy')) === 1 &&
          (await metric(agent.baseUrl, 'pra_offsite_pending_uploads')) === 0,
        15_000,
        'catch-up',
      );
      expect(await metric(agent.baseUrl, 'pra_offsite_upload_lag_seconds')).toBe(0);
      expect(await ready(agent.baseUrl)).toMatchObject({ status: 'ok', error: null });
      expect(plain(agent.output())).toMatch(
        new RegExp(
          // refused, or reset when the server died under an open connection
          `ERROR \\[Offsite\\] offsite copies failed: cannot \\w+ .*s3://${bucket}/ at ${s3.endpoint}: .*(ECONNREFUSED|ECONNRESET|socket hang up)`,
        ),
      );

      // Every backup taken before S3 came back is offsite, checked with the second client.
      const local = readCatalogDir(layout.backupDir).map((e) => e.manifest as BackupManifest);
      const duringOutage = local.filter(
        (m) => Date.parse(m.created_at) > downAt && Date.parse(m.created_at) < upAt,
      );
      expect(duringOutage.length).toBeGreaterThanOrEqual(3);
      await expectOffsite(
        bucket,
        local.filter((m) => Date.parse(m.created_at) < upAt),
      );
    } finally {
      await agent.stop();
    }
  });

  it('both volumes lost: restore from S3 with the CLI and over HTTP; wrong key and modified object refused', async () => {
    const bucket = newBucketName('lost');
    const env = s3.env(bucket, { S3_ENCRYPTION_KEY: key.toString('hex'), ...fast });
    const a = cli(env, 'backup');
    expect(a.stdout).toMatch(/^offsite (app-\d+) ok: s3:\/\/.*\.db \(encrypted\)$/m);
    expect(a.status).toBe(0);
    const idA = /^backup (app-[\d-]+) ok/m.exec(a.stdout)?.[1] as string;
    const expectedA = readMessages(join(layout.backupDir, `${idA}.db`));
    seedEventsDb(layout.dbPath, 20, 'after');
    const b = cli(env, 'backup');
    expect(b.status).toBe(0);
    const idB = /^backup (app-[\d-]+) ok/m.exec(b.stdout)?.[1] as string;
    expect(idB).not.toBe(idA);

    // Disaster: pra-data and pra-backup are both gone.
    rmSync(join(layout.dir, 'data'), { recursive: true, force: true });
    rmSync(layout.backupDir, { recursive: true, force: true });

    // The wrong key: a clear error (exit 2: configuration), nothing written.
    const wrongKey = cli(
      { ...env, S3_ENCRYPTION_KEY: randomBytes(32).toString('hex') },
      'restore',
      '--id',
      idA,
      '--from',
      's3',
      '--offline',
    );
    expect(wrongKey.status).toBe(2);
    expect(wrongKey.stderr).toMatch(/encrypted with another key .*S3_ENCRYPTION_KEY/);
    expect(existsSync(layout.dbPath)).toBe(false);

    // A modified object: refused (exit 4), nothing written.
    const stored = await readObject(s3.minio, bucket, `${idB}.db`);
    const meta = (await s3.minio.statObject(bucket, `${idB}.db`)).metaData;
    stored[5000] ^= 0x20;
    await s3.minio.putObject(bucket, `${idB}.db`, stored, stored.length, {
      'X-Amz-Meta-Sha256': meta['sha256'],
    });
    const refused = cli(env, 'restore', '--id', idB, '--from', 's3', '--offline');
    expect(refused.status).toBe(4);
    expect(refused.stderr).toMatch(new RegExp(`backup ${idB} failed verification: .*authentication failed`));
    expect(existsSync(layout.dbPath)).toBe(false);

    // The chosen point comes back from S3, every row of it.
    const restored = cli(env, 'restore', '--id', idA, '--from', 's3', '--offline');
    expect(restored.stderr).not.toMatch(/ERROR/);
    expect(restored.status).toBe(0);
    expect(JSON.parse(restored.stdout)).toMatchObject({
      mode: 'offline',
      rows_after: 100,
      restored: { id: idA, from: 's3' },
    });
    expect(readMessages(layout.dbPath)).toEqual(expectedA);

    // Again over HTTP, on an empty node: POST /restore/:id?from=s3.
    rmSync(join(layout.dir, 'data'), { recursive: true, force: true });
    rmSync(layout.backupDir, { recursive: true, force: true });
    const agent = await startAgentProcess(layout, { ...env, BACKUP_TOKEN: TOKEN });
    try {
      const list = await json<{ id: string; location: string; rows: number }[]>(
        await fetch(`${agent.baseUrl}/backups`),
      );
      expect(list.map((x) => [x.id, x.location])).toEqual([
        [idB, 'offsite'],
        [idA, 'offsite'],
      ]);
      const bad = await post(agent.baseUrl, `/restore/${idB}?from=s3`);
      expect(bad.status).toBe(422);
      expect(await json(bad)).toMatchObject({ code: 'BACKUP_CORRUPT' });
      expect(existsSync(layout.dbPath)).toBe(false);

      const ok = await post(agent.baseUrl, `/restore/${idA}?from=s3`);
      expect(ok.status).toBe(200);
      expect(await json(ok)).toMatchObject({
        rows_after: 100,
        safety_snapshot: null,
        restored: { id: idA, from: 's3' },
      });
      expect(readMessages(layout.dbPath)).toEqual(expectedA);
      expect(readCatalogDir(layout.backupDir)).toEqual([]); // the download was a temp file, removed
    } finally {
      await agent.stop();
    }
  });

  it('wrong credentials, then a missing bucket: clear errors in logs, /ready and /metrics; local backups go on', async () => {
    const bucket = newBucketName('creds');
    const denied = await startAgentProcess(layout, {
      ...s3.env(bucket, { S3_ACCESS_KEY_ID: 'WRONG-KEY', ...fast }),
      BACKUP_TOKEN: TOKEN,
    });
    try {
      for (let i = 0; i < 2; i++) expect((await post(denied.baseUrl, '/backups')).status).toBe(201);
      await until(async () => (await ready(denied.baseUrl)).status === 'failing', 10_000, 'offsite failing');
      expect(await ready(denied.baseUrl)).toMatchObject({
        error: {
          code: 'OFFSITE_ACCESS_DENIED',
          message: expect.stringMatching(
            new RegExp(`s3://${bucket}/ at ${s3.endpoint}: access denied .*S3_ACCESS_KEY_ID`),
          ),
        },
        pending_uploads: 2,
      });
      expect(await metric(denied.baseUrl, 'pra_offsite_healthy')).toBe(0);
      expect(await metric(denied.baseUrl, 'pra_offsite_upload_failures_total')).toBeGreaterThanOrEqual(1);
      expect(await metric(denied.baseUrl, 'pra_backup_taken_total')).toBe(2);
      expect(await metric(denied.baseUrl, 'pra_backup_failures_total')).toBe(0);
      expect(plain(denied.output())).toMatch(
        new RegExp(
          `ERROR \\[Offsite\\] offsite copies failed: cannot use the bucket s3://${bucket}/ at ${s3.endpoint}: access denied \\(HTTP 403\\)`,
        ),
      );
    } finally {
      await denied.stop();
    }

    const missing = await startAgentProcess(layout, {
      ...s3.env(bucket, { S3_CREATE_BUCKET: 'false', ...fast }),
      BACKUP_TOKEN: TOKEN,
    });
    try {
      expect((await post(missing.baseUrl, '/backups')).status).toBe(201);
      await until(async () => (await ready(missing.baseUrl)).status === 'failing', 10_000, 'offsite failing');
      expect((await ready(missing.baseUrl)).error).toMatchObject({
        code: 'OFFSITE_BUCKET_MISSING',
        message: `bucket "${bucket}" does not exist at ${s3.endpoint}: create it, or set S3_CREATE_BUCKET=true`,
      });
      expect(await s3.minio.bucketExists(bucket)).toBe(false);
    } finally {
      await missing.stop();
    }
    expect(readCatalogDir(layout.backupDir)).toHaveLength(3);
  });

  it('one-shot backup (CronJob): exit 6 when S3 is down, backup kept; the next run uploads both', async () => {
    const bucket = newBucketName('cron');
    const env = s3.env(bucket, {
      S3_ENCRYPTION_KEY: key.toString('base64'),
      BACKUP_OFFSITE_WAIT_SECONDS: '1',
      ...fast,
    });
    await s3.kill9();
    let first;
    try {
      first = cli(env, 'backup');
    } finally {
      await s3.start();
    }
    expect(first.stderr).toMatch(
      /offsite copy of app-\d+ NOT done within 1 s: .*ECONNREFUSED.*The local backup is kept/,
    );
    expect(first.status).toBe(6);
    expect(readCatalogDir(layout.backupDir)).toHaveLength(1);

    // The next run creates the bucket (S3_CREATE_BUCKET defaults to true) and catches up.
    const second = cli(env, 'backup');
    expect(second.status).toBe(0);
    const manifests = readCatalogDir(layout.backupDir).map((e) => e.manifest as BackupManifest);
    expect(manifests).toHaveLength(2);
    await expectOffsite(bucket, manifests);
    expect(JSON.parse(readFileSync(offsiteJournalFile(layout.backupDir), 'utf8')).pending).toEqual([]);
  });

  it('a pending upload survives kill -9 of the agent and is completed after the restart', async () => {
    const bucket = newBucketName('kill9');
    const env = {
      ...s3.env(bucket, { S3_ENCRYPTION_KEY: key.toString('base64'), ...fast }),
      BACKUP_TOKEN: TOKEN,
    };
    await s3.kill9();
    try {
      const agent = await startAgentProcess(layout, env);
      const ids = [];
      for (let i = 0; i < 2; i++)
        ids.push((await json<{ id: string }>(await post(agent.baseUrl, '/backups'))).id);
      await until(
        () => JSON.parse(readFileSync(offsiteJournalFile(layout.backupDir), 'utf8')).pending.length === 2,
      );
      await agent.kill9();
    } finally {
      await s3.start();
    }

    const restarted = await startAgentProcess(layout, env);
    try {
      await until(
        async () => (await metric(restarted.baseUrl, 'pra_offsite_uploads_total')) === 2,
        10_000,
        'uploads after restart',
      );
      expect(await metric(restarted.baseUrl, 'pra_offsite_pending_uploads')).toBe(0);
      await expectOffsite(
        bucket,
        readCatalogDir(layout.backupDir).map((e) => e.manifest as BackupManifest),
      );
      const list = await json<{ location: string }[]>(await fetch(`${restarted.baseUrl}/backups`));
      expect(list.map((b) => b.location)).toEqual(['both', 'both']);
    } finally {
      await restarted.stop();
    }
  });
});
