import { manifestFor } from '@pra-kit/shared';
import { backupHealth, BackupHealthInput } from './backup-health';
import { ReplicationStatus } from './replication.port';

const now = new Date('2026-11-30T12:00:00.000Z');
const following: ReplicationStatus = {
  state: 'following',
  chain: 'chain-1796040000000',
  durableUntilUs: (now.getTime() - 300) * 1000,
  pendingTransactions: 3,
  oldestPendingUs: (now.getTime() - 400) * 1000,
  lastPollAt: new Date(now.getTime() - 50),
  breaksTotal: 0,
  segmentsWritten: 10,
  segmentBytesWritten: 1000,
  transactionsShipped: 500,
  lastSegmentLagMs: 600,
  lastError: null,
  lastBreak: null,
  walRestarts: 2,
};
const snapshot = (ageSeconds: number) =>
  manifestFor({
    id: 'app-1796035000',
    createdAt: new Date(now.getTime() - ageSeconds * 1000),
    size: 4096,
    sha256: 'a'.repeat(64),
    facts: { pageSize: 4096, pageCount: 1, rows: 12, schemaVersion: 1, sqliteVersion: '3.53.2' },
    reason: 'scheduled',
    durationMs: 1,
    checkedWith: 'quick',
    checkedAt: now,
  });
const storage = {
  path: '/backup',
  freeBytes: 100e6,
  totalBytes: 200e6,
  minFreeBytes: 20e6,
  nextSnapshotBytes: 5e6,
};
const base: BackupHealthInput = {
  now,
  objectiveSeconds: 1,
  replicationEnabled: true,
  replication: following,
  syncIntervalMs: 1000,
  chains: [
    {
      id: 'chain-1796040000000',
      status: 'live',
      started_at: '2026-11-30T11:00:00.000Z',
      from: '2026-11-30T11:00:00.000Z',
      to: now.toISOString(),
      end_reason: null,
      snapshots: ['app-1796035000'],
      segments: 10,
      transactions: 500,
      bytes: 1000,
    },
  ],
  newestSnapshot: snapshot(3600),
  lastBackupSuccessAt: new Date(now.getTime() - 3600_000),
  lastBackupError: null,
  storage,
  offsite: null,
};

describe('backupHealth (GET /health/backups)', () => {
  it('replication caught up: the newest restorable instant is now minus the lag, within the objective', () => {
    const r = backupHealth(base);
    expect(r.status).toBe('ok');
    expect(r.rpo).toEqual({
      objective_seconds: 1,
      newest_restorable_at: '2026-11-30T11:59:59.600Z',
      age_seconds: 0.4,
      ok: true,
    });
    expect(r.replication).toMatchObject({ enabled: true, state: 'following', lag_seconds: 0.4 });
    expect(r.summary).toMatch(/lose at most 0.4 s of writes/);
  });

  it('replication stopped: the age is since the end of the newest range, said in words', () => {
    const r = backupHealth({
      ...base,
      replication: {
        ...following,
        state: 'waiting',
        lastError: { message: 'database or disk is full', at: now },
      },
      chains: [{ ...base.chains[0], status: 'ended', to: '2026-11-30T11:59:00.000Z' }],
    });
    expect(r.status).toBe('failing'); // 60 s of writes at risk, objective 1 s
    expect(r.rpo.age_seconds).toBe(60);
    expect(r.conditions.find((c) => c.name === 'replication')).toMatchObject({ ok: false });
    expect(r.conditions.find((c) => c.name === 'replication')?.message).toMatch(
      /not following the database right now \(database or disk is full\)/,
    );
  });

  it('snapshots only: the newest snapshot against a 60 s objective; nothing at all is failing', () => {
    const off = { ...base, replicationEnabled: false, replication: null, chains: [], objectiveSeconds: 60 };
    expect(backupHealth({ ...off, newestSnapshot: snapshot(30) })).toMatchObject({
      status: 'ok',
      rpo: { age_seconds: 30, ok: true },
    });
    expect(backupHealth({ ...off, newestSnapshot: snapshot(90) })).toMatchObject({
      status: 'degraded',
      rpo: { ok: false },
    });
    const none = backupHealth({ ...off, newestSnapshot: null });
    expect(none).toMatchObject({ status: 'failing', rpo: { newest_restorable_at: null, age_seconds: null } });
    expect(none.summary).toMatch(/nothing can be restored yet/);
  });

  it('a volume where the next snapshot does not fit is degraded, with the sizes', () => {
    const r = backupHealth({
      ...base,
      storage: { ...storage, freeBytes: 1 * 1024 * 1024, nextSnapshotBytes: 3 * 1024 * 1024 },
    });
    expect(r.status).toBe('degraded');
    expect(r.storage.ok).toBe(false);
    expect(r.summary).toMatch(/next snapshot needs about 3.0 MiB and 1.0 MiB are free/);
  });

  describe('the replication copy to the bucket (both volumes lost)', () => {
    const offsite = {
      location: 's3://pra/',
      endpoint: 'http://minio:9000',
      encrypted: true,
      healthy: true,
      lastError: null,
      consecutiveFailures: 0,
      pending: 0,
      oldestPendingCreatedAt: null,
      uploadsTotal: 3,
      failuresTotal: 0,
      prunedTotal: 0,
      lastUploadAt: now,
      remoteBackups: 3,
    };
    const segments = {
      location: 's3://pra/',
      healthy: true as boolean | null,
      lastError: null as { code: string; message: string; at: Date } | null,
      pendingSegments: 2,
      backlogBytes: 4096,
      lagSeconds: 4.2,
      segmentsUploaded: 100,
      bytesUploaded: 1e6,
      failuresTotal: 0,
      chainsPruned: 0,
    };
    const withSegments = (s: typeof segments) =>
      backupHealth({ ...base, offsite, offsiteSegments: s, offsiteSyncIntervalMs: 10_000 });

    it('caught up: the report says how much both volumes would cost, and is ok', () => {
      const r = withSegments(segments);
      expect(r.status).toBe('ok');
      expect(r.offsite?.segments).toEqual({
        status: 'ok',
        lag_seconds: 4.2,
        pending_segments: 2,
        backlog_bytes: 4096,
        error: null,
      });
      expect(r.conditions.find((c) => c.name === 'offsite_replication')).toEqual({
        name: 'offsite_replication',
        ok: true,
        message:
          'losing both volumes now would lose at most about 10 s of writes (the bucket s3://pra/ gets the replication every 10 s)',
      });
    });

    it('more than 5 minutes behind, or failing: degraded, in words', () => {
      const behind = withSegments({ ...segments, lagSeconds: 400 });
      expect(behind.status).toBe('degraded');
      expect(behind.summary).toBe(
        "the replication's copy to s3://pra/ is 400 s behind: losing both volumes now would lose that much",
      );
      const failing = withSegments({
        ...segments,
        healthy: false,
        lastError: { code: 'OFFSITE_UNAVAILABLE', message: 'connect ECONNREFUSED', at: now },
      });
      expect(failing.status).toBe('degraded');
      expect(failing.offsite?.segments).toMatchObject({ status: 'failing', error: 'connect ECONNREFUSED' });
      expect(failing.summary).toMatch(
        /copy to s3:\/\/pra\/ is failing \(connect ECONNREFUSED\); 2 segment\(s\) waiting/,
      );
    });
  });
});
