import { formatAge, formatBytes, formatDuration, formatRows, isoSeconds } from './format';
import {
  parseDrills,
  parseErrorBody,
  parsePoints,
  parseRanges,
  parseRestoreAnswer,
  rangesFromPoints,
} from './model';

const NOW = Date.parse('2026-11-22T10:00:00Z');

describe('parsePoints (GET /backups)', () => {
  it('reads what the agent lists today, and its chain once replication is there', () => {
    const points = parsePoints(
      [
        {
          id: 'app-1795341500',
          created_at: '2026-11-22T09:58:20.000Z',
          size: 16384,
          rows: 3,
          verified: true,
          reason: 'scheduled',
          location: 'both',
          offsite: { state: 'uploaded', uploaded_at: '2026-11-22T09:58:21.000Z' },
          chain: null,
        },
        {
          id: 'app-1795341590',
          created_at: '2026-11-22T09:59:50.000Z',
          size: 20480,
          rows: 9,
          verified: true,
          reason: 'replication',
          location: 'local',
          offsite: { state: 'failed', attempts: 2, last_error: 'down' },
          chain: {
            id: 'c1',
            tx: 12,
            status: 'live',
            from: '2026-11-22T09:59:50.000Z',
            to: '2026-11-22T09:59:59.000Z',
          },
        },
        {
          id: 'app-1795341400',
          created_at: '2026-11-22T09:56:40.000Z',
          size: 100,
          rows: null,
          verified: null,
          reason: null,
          location: 'local',
          offsite: null,
          note: 'no manifest',
        },
        { nonsense: true },
        'app-1',
      ],
      NOW,
    );
    expect(points.map((p) => [p.id, p.reason, p.verified, p.location])).toEqual([
      ['app-1795341590', 'replication', true, 'local'],
      ['app-1795341500', 'scheduled', true, 'both'],
      ['app-1795341400', 'unknown', null, 'local'],
    ]);
    expect(points[0].offsite).toEqual({ state: 'failed', attempts: 2, lastError: 'down' });
    expect(points[0].chain).toEqual({
      id: 'c1',
      live: true,
      from: Date.parse('2026-11-22T09:59:50Z'),
      to: Date.parse('2026-11-22T09:59:59Z'),
    });
    expect(points[2]).toMatchObject({ rows: null, note: 'no manifest', chain: null });
    expect(rangesFromPoints(points)).toEqual([
      expect.objectContaining({ id: 'c1', live: true, snapshots: ['app-1795341590'] }),
    ]);
  });

  it('answers nothing for something that is not a list', () => {
    expect(parsePoints({ statusCode: 500 }, NOW)).toEqual([]);
  });
});

describe('parseRanges (GET /chains)', () => {
  it('reads ranges newest first; a live one reaches now', () => {
    const ranges = parseRanges(
      [
        {
          id: 'c1',
          status: 'ended',
          started_at: '2026-11-22T09:00:00Z',
          from: '2026-11-22T09:00:00Z',
          to: '2026-11-22T09:30:00Z',
          end_reason: 'storage full',
          snapshots: ['app-1'],
          segments: 3,
          transactions: 40,
          bytes: 9000,
        },
        {
          id: 'c2',
          status: 'live',
          started_at: '2026-11-22T09:40:00Z',
          from: '2026-11-22T09:40:00Z',
          to: '2026-11-22T09:59:58Z',
          end_reason: null,
          snapshots: [],
          transactions: 5,
          bytes: 100,
          offsite: { from: '2026-11-22T09:40:00Z', to: '2026-11-22T09:59:50Z' },
        },
        { id: 'bad', status: 'ended', from: '2026-11-22T09:40:00Z', to: '2026-11-22T09:00:00Z' },
        {
          id: 'pruned',
          status: 'ended',
          started_at: '2026-11-22T08:00:00Z',
          from: null,
          to: null,
          snapshots: [],
        },
      ],
      NOW,
    );
    expect(ranges.map((r) => r.offsite)).toEqual([
      { from: Date.parse('2026-11-22T09:40:00Z'), to: Date.parse('2026-11-22T09:59:50Z') },
      null,
    ]);
    expect(ranges.map((r) => [r.id, r.live, r.to, r.endReason])).toEqual([
      ['c2', true, NOW, null],
      ['c1', false, Date.parse('2026-11-22T09:30:00Z'), 'storage full'],
    ]);
  });
});

describe('parseRestoreAnswer', () => {
  it('takes the backup rows as "after" for a dry run of a backup, which the agent leaves null', () => {
    const a = parseRestoreAnswer({
      restored: {
        id: 'app-1795341500',
        created_at: '2026-11-22T09:58:20.000Z',
        rows: 3,
        size: 1,
        sha256: 'x',
        from: 'local',
      },
      mode: 'online',
      dry_run: true,
      rows_before: 9,
      rows_after: null,
      duration_ms: 4,
      safety_snapshot: null,
      notes: ['a safety snapshot of the current database would be taken first'],
    });
    expect(a).toMatchObject({
      dryRun: true,
      rowsBefore: 9,
      rowsAfter: 3,
      mode: 'online',
      safetySnapshot: null,
    });
  });

  it('keeps "after" as the agent computed it for an instant', () => {
    const a = parseRestoreAnswer({
      restored: { id: 'app-1795341500', rows: 3 },
      mode: 'online',
      dry_run: true,
      rows_before: 9,
      rows_after: 7,
      point_in_time: {
        at: '2026-11-22T09:59:00Z',
        chain: 'c1',
        snapshot: 'app-1795341500',
        transactions: 4,
        target_time: '2026-11-22T09:59:00Z',
      },
    });
    expect(a).toMatchObject({
      rowsAfter: 7,
      pointInTime: { at: '2026-11-22T09:59:00Z', targetTime: '2026-11-22T09:59:00Z', transactions: 4 },
    });
  });
});

describe('parseErrorBody', () => {
  it("shows the agent's sentence, whatever the status", () => {
    expect(
      parseErrorBody(
        507,
        JSON.stringify({
          statusCode: 507,
          error: 'Insufficient Storage',
          code: 'INSUFFICIENT_STORAGE',
          message: 'the backup volume is full',
        }),
      ),
    ).toEqual({ statusCode: 507, code: 'INSUFFICIENT_STORAGE', message: 'the backup volume is full' });
  });

  it('says what came back when it is not the agent answering', () => {
    expect(parseErrorBody(502, '<html><body><h1>502 Bad Gateway</h1></body></html>')).toEqual({
      statusCode: 502,
      code: 'HTTP_502',
      message: 'the agent answered 502: 502 Bad Gateway',
    });
    expect(parseErrorBody(503, '').message).toBe('the agent answered 503 with no explanation');
  });
});

describe('parseDrills (GET /drills)', () => {
  it('reads the summaries newest first and leaves out what is not one', () => {
    const drills = parseDrills([
      {
        name: 'a',
        scenario: 'pod-loss',
        kind: 'PCA',
        target: 'local',
        started_at: '2026-11-22T09:00:00Z',
        passed: true,
        rto_read_ms: 1000,
        rto_write_ms: 900,
        rpo_ms: 40,
        writes: { acknowledged: 200, lost: 0 },
        objectives: { rtoSeconds: 30, missed: [] },
      },
      {
        name: 'b',
        scenario: 'data-loss',
        kind: 'PRA',
        target: 'local',
        started_at: '2026-11-22T09:30:00Z',
        passed: false,
        rto_read_ms: null,
        rto_write_ms: null,
        rpo_ms: null,
        writes: { acknowledged: 10, lost: 4 },
      },
      { name: 'c' },
    ]);
    expect(drills.map((d) => [d.name, d.passed, d.lost])).toEqual([
      ['b', false, 4],
      ['a', true, 0],
    ]);
    expect(drills[1].objectives).toEqual({ rtoSeconds: 30 });
  });
});

describe('format', () => {
  it('writes durations with at most two units', () => {
    expect([0, 850, 4400, 42_000, 185_000, 7_800_000, 273_600_000].map(formatDuration)).toEqual([
      '0 ms',
      '850 ms',
      '4.4 s',
      '42 s',
      '3 min 5 s',
      '2 h 10 min',
      '3 d 4 h',
    ]);
    expect(formatDuration(60_000)).toBe('1 min');
    expect(formatAge(-3000)).toBe('in 3.0 s');
  });

  it('writes sizes, rows and instants', () => {
    expect([512, 49_152, 1_572_864].map(formatBytes)).toEqual(['512 B', '48.0 KB', '1.50 MB']);
    expect([null, 1, 12_345].map(formatRows)).toEqual(['? rows', '1 row', '12,345 rows']);
    expect(isoSeconds(Date.parse('2026-11-22T10:15:00.750Z'))).toBe('2026-11-22T10:15:00Z');
  });
});
