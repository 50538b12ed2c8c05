import { computeReport, Observations } from './drill-report';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');
const ack = (n: number, sentAt: number, ackAt = sentAt + 5) => ({
  message: `drill-r-${n}`,
  id: n,
  sentAt,
  ackAt,
});

function observations(over: Partial<Observations>): Observations {
  return {
    runId: 'r',
    scenario: 'data-loss',
    kind: 'PRA',
    summary: 's',
    target: 'local',
    targetDescription: 'd',
    ratePerSecond: 10,
    startedAt: T0,
    faultAt: T0 + 10_000,
    faultDetail: 'rm -rf data',
    recoveredAt: T0 + 12_000,
    firstReadAt: T0 + 12_500,
    outageObserved: true,
    attempts: 0,
    failures: {},
    acks: [],
    refusals: [],
    stored: new Set(),
    backupAtFault: null,
    restored: null,
    timeline: [],
    objectives: {},
    ...over,
  };
}

describe('computeReport', () => {
  // Writes every second from T0; a backup at T0+5.5 s; the fault at T0+10 s; recovery at T0+12 s.
  const before = Array.from({ length: 10 }, (_, i) => ack(i, T0 + i * 1000));
  const after = [ack(100, T0 + 12_100), ack(101, T0 + 13_000)];
  const inBackup = before.filter((a) => a.ackAt < T0 + 5500);
  const restored = {
    id: 'app-1795341605',
    createdAt: new Date(T0 + 5500).toISOString(),
    rows: 6,
    from: 'local' as const,
  };

  it('measures RTO, RPO and lost writes of a PRA from what survived', () => {
    const r = computeReport(
      observations({
        acks: [...before, ...after],
        stored: new Set([...inBackup, ...after].map((a) => a.message)),
        restored,
        attempts: 14,
        failures: { network: 2 },
      }),
    );
    expect(r.rto_read_ms).toBe(2500);
    expect(r.rto_write_ms).toBe(12_105 - 10_000);
    expect(r.rpo_ms).toBe(10_000 - 5005); // the newest surviving write was acknowledged at T0+5.005 s
    expect(r.writes).toMatchObject({ acknowledged: 12, attempted: 14, lost: 4, lost_after_fault: 0 });
    expect(r.writes.lost_examples).toEqual(['drill-r-6', 'drill-r-7', 'drill-r-8', 'drill-r-9']);
    expect(r.checks.every((c) => c.ok)).toBe(true);
    expect(r.passed).toBe(true);
  });

  it('fails the "restored data matches" check when a write older than the backup is missing', () => {
    const stored = new Set([...inBackup.slice(1), ...after].map((a) => a.message));
    const r = computeReport(observations({ acks: [...before, ...after], stored, restored }));
    expect(r.checks.find((c) => c.name === 'restored data matches the backup')).toMatchObject({ ok: false });
    expect(r.passed).toBe(false);
  });

  it('fails when a write acknowledged after recovery is missing, and when objectives are missed', () => {
    const stored = new Set([...before, after[0]].map((a) => a.message));
    const r = computeReport(
      observations({
        scenario: 'pod-loss',
        acks: [...before, ...after],
        stored,
        objectives: { rtoSeconds: 1, rpoSeconds: 60, maxLost: 0 },
      }),
    );
    expect(r.checks.find((c) => c.name === 'writes after recovery are kept')).toMatchObject({ ok: false });
    expect(r.objectives.missed).toEqual(['RTO 2.50 s > 1s', '1 lost writes > 0']);
    expect(r.passed).toBe(false);
  });

  it('does not count a write acknowledged by a damaged database and then lost as the service being back', () => {
    const doomed = ack(50, T0 + 10_200);
    const r = computeReport(
      observations({
        acks: [...before, doomed, ...after],
        stored: new Set([...before, ...after].map((a) => a.message)),
      }),
    );
    expect(r.rto_write_ms).toBe(2105);
    expect(r.writes).toMatchObject({ lost: 1, lost_after_fault: 1 });
  });

  it('reports no recovery when nothing could be read or written', () => {
    const r = computeReport(observations({ acks: before, stored: new Set(), firstReadAt: null }));
    expect(r.rto_read_ms).toBeNull();
    expect(r.rto_write_ms).toBeNull();
    expect(r.checks.find((c) => c.name === 'service recovered')).toMatchObject({ ok: false });
  });
});
