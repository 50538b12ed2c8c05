import { healthFromParts, healthFromReport } from './health';
import { parsePoints } from './model';

const NOW = Date.parse('2026-11-22T10:00:00Z');
const ago = (seconds: number) => new Date(NOW - seconds * 1000).toISOString();

function backups(...items: Record<string, unknown>[]) {
  return parsePoints(
    items.map((b, i) => ({
      id: `app-${1795341600 - i}`,
      size: 1000,
      rows: 5,
      verified: true,
      reason: 'scheduled',
      location: 'local',
      offsite: null,
      ...b,
    })),
    NOW,
  );
}

describe('healthFromParts (an agent without GET /health/backups)', () => {
  const ready = {
    status: 'ready',
    source_database: 'present',
    running: null,
    last_backup_error: null,
    offsite: null,
  };

  it('is ok when the newest verified point is within the 60 s objective', () => {
    const h = healthFromParts({
      ready,
      readyError: null,
      points: backups({ created_at: ago(20) }),
      ranges: [],
      now: NOW,
    });
    expect(h).toMatchObject({
      status: 'ok',
      source: 'derived',
      lastError: null,
      offsite: null,
      storage: null,
    });
    expect(h.freshness).toMatchObject({ ageMs: 20_000, objectiveMs: 60_000, ok: true });
    expect(h.summary).toBe('The newest restorable instant is 20 s old, within the 1 min objective.');
  });

  it('is degraded when the newest verified point is too old, and says by how much', () => {
    const h = healthFromParts({
      ready,
      readyError: null,
      points: backups({ created_at: ago(10), reason: 'pre-restore' }, { created_at: ago(200) }),
      ranges: [],
      now: NOW,
    });
    expect(h.status).toBe('degraded');
    expect(h.freshness).toMatchObject({ ageMs: 200_000, ok: false, level: 'late' });
    expect(h.summary).toBe('The newest restorable instant is 3 min 20 s old, more than the 1 min objective.');
  });

  it('is failing without any restore point, or with the database missing', () => {
    expect(healthFromParts({ ready, readyError: null, points: [], ranges: [], now: NOW })).toMatchObject({
      status: 'failing',
      summary: 'There is no verified restore point yet: take a backup.',
    });
    const missing = healthFromParts({
      ready: { ...ready, source_database: 'missing' },
      readyError: null,
      points: backups({ created_at: ago(5) }),
      ranges: [],
      now: NOW,
    });
    expect(missing.status).toBe('failing');
    expect(missing.summary).toMatch(/^The database file is missing: choose a restore point and restore it\./);
  });

  it('reports the last error and the offsite backlog from /ready and the points', () => {
    const h = healthFromParts({
      ready: {
        ...ready,
        last_backup_error: 'source database is corrupt',
        offsite: {
          status: 'failing',
          pending_uploads: 2,
          error: { code: 'OFFSITE_UNAVAILABLE', message: 'connect ECONNREFUSED' },
        },
      },
      readyError: null,
      points: backups(
        { created_at: ago(10), offsite: { state: 'pending' }, size: 3000 },
        { created_at: ago(40), offsite: { state: 'failed', attempts: 3 }, size: 2000 },
        { created_at: ago(70), location: 'both', offsite: { state: 'uploaded' } },
      ),
      ranges: [],
      now: NOW,
    });
    expect(h.status).toBe('degraded');
    expect(h.lastError).toEqual({ message: 'source database is corrupt', code: null, at: null });
    expect(h.offsite).toEqual({
      status: 'failing',
      pending: 2,
      lagMs: 40_000,
      backlogBytes: 5000,
      error: 'connect ECONNREFUSED',
      segments: null,
    });
    expect(h.summary).toContain('The last backup failed: source database is corrupt');
    expect(h.summary).toContain('Offsite copies are failing; 2 backups wait for upload.');
  });

  it('says the agent is not ready in its own words', () => {
    const h = healthFromParts({
      ready: null,
      readyError: 'backup directory /backup is not writable: EACCES',
      points: backups({ created_at: ago(5) }),
      ranges: [],
      now: NOW,
    });
    expect(h.status).toBe('failing');
    expect(h.summary).toMatch(/^The agent is not ready: backup directory \/backup is not writable: EACCES/);
  });
});

describe('healthFromReport (GET /health/backups)', () => {
  it('reads every part of the report', () => {
    const h = healthFromReport({
      status: 'degraded',
      summary: 'Offsite copies lag by 5 min.',
      rpo: { objective_seconds: 1, newest_restorable_at: ago(0.4), age_seconds: 0.4, ok: true },
      replication: {
        enabled: true,
        state: 'following',
        chain: 'c1',
        lag_seconds: 0.4,
        durable_until: ago(0.4),
        last_break: { reason: 'the WAL restarted', at: ago(600) },
        last_error: null,
      },
      backups: {
        last_success_at: ago(30),
        last_error: { code: 'SOURCE_DATABASE_CORRUPT', message: 'corrupt', at: ago(60) },
      },
      storage: {
        path: '/backup',
        free_bytes: 5_000_000,
        total_bytes: 200_000_000,
        min_free_bytes: 10_000_000,
        ok: false,
      },
      offsite: {
        status: 'ok',
        pending_uploads: 3,
        lag_seconds: 300,
        backlog_bytes: 48_000,
        segments: { status: 'ok', lag_seconds: 1.5, pending_segments: 4, backlog_bytes: 2048, error: null },
      },
      conditions: [
        { name: 'storage', ok: false, message: 'less than 10 MB free' },
        { name: 'rpo', ok: true, message: 'fine' },
      ],
    });
    expect(h).toMatchObject({
      status: 'degraded',
      summary: 'Offsite copies lag by 5 min.',
      source: 'report',
      lastError: { message: 'corrupt', code: 'SOURCE_DATABASE_CORRUPT', at: NOW - 60_000 },
      offsite: {
        status: 'ok',
        pending: 3,
        lagMs: 300_000,
        backlogBytes: 48_000,
        error: null,
        segments: { status: 'ok', pending: 4, lagMs: 1500, backlogBytes: 2048, error: null },
      },
      replication: { enabled: true, state: 'following', lagMs: 400, lastBreak: 'the WAL restarted' },
      storage: { freeBytes: 5_000_000, totalBytes: 200_000_000, minFreeBytes: 10_000_000, ok: false },
    });
    expect(h.freshness).toMatchObject({ objectiveMs: 1000, ageMs: 400, ok: true });
    expect(h.conditions).toHaveLength(2);
  });

  it('stays readable when parts are missing', () => {
    const h = healthFromReport({
      status: 'failing',
      summary: 'No restore point.',
      rpo: { objective_seconds: 60 },
    });
    expect(h).toMatchObject({
      status: 'failing',
      offsite: null,
      replication: null,
      storage: null,
      lastError: null,
    });
    expect(h.freshness.level).toBe('none');
  });
});
