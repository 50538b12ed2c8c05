import { computeReport, Observations } from './drill-report';
import { formatMarkdown } from './report-format';
import { escapeXml, markers, renderTimelineSvg, tickStepMs } from './timeline-svg';

const T0 = Date.parse('2026-11-22T10:00:00.000Z');

/** A PRA drill: a write every 100 ms for 14 s, a backup at 5.5 s, the fault at 10 s. */
function observations(over: Partial<Observations> = {}): Observations {
  const acks = [];
  const refusals = [];
  for (let t = 0; t < 14_000; t += 100) {
    // The API is down from the fault (10 s) until the restore is done (12 s): refused.
    if (t >= 10_000 && t < 12_000) refusals.push({ sentAt: T0 + t, reason: 'network' });
    else acks.push({ message: `drill-r-${t}`, id: t, sentAt: T0 + t, ackAt: T0 + t + 5 });
  }
  // What survived: everything acknowledged before the backup, and everything after recovery.
  const stored = new Set(
    acks.filter((a) => a.ackAt < T0 + 5500 || a.sentAt >= T0 + 12_000).map((a) => a.message),
  );
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
    firstReadAt: T0 + 12_300,
    outageObserved: true,
    attempts: acks.length + refusals.length,
    failures: { network: refusals.length },
    acks,
    refusals,
    stored,
    backupAtFault: { id: 'app-1795341605', createdAt: new Date(T0 + 5500).toISOString(), rows: 55 },
    restored: { id: 'app-1795341605', createdAt: new Date(T0 + 5500).toISOString(), rows: 55, from: 'local' },
    timeline: [],
    objectives: {},
    ...over,
  };
}

describe('the drill chart (in the JSON report)', () => {
  const r = computeReport(observations());

  it('puts every write in one bucket of its sending time: kept, lost or refused', () => {
    const c = r.chart;
    expect(c.bucket_ms).toBe(200); // 14 s in at most 120 buckets
    const sum = (k: 'kept' | 'lost' | 'refused') => c.buckets.reduce((n, b) => n + b[k], 0);
    expect(sum('kept') + sum('lost')).toBe(r.writes.acknowledged);
    expect(sum('lost')).toBe(r.writes.lost);
    expect(sum('refused')).toBe(20);
    // The lost writes are the ones sent between the backup (5.5 s) and the fault (10 s).
    const lostAt = c.buckets.filter((b) => b.lost > 0).map((b) => b.t_ms);
    expect(Math.min(...lostAt)).toBe(5400);
    expect(Math.max(...lostAt)).toBe(9800);
    expect(c.buckets.find((b) => b.t_ms === 10_000)).toEqual({ t_ms: 10_000, kept: 0, lost: 0, refused: 2 });
  });

  it('keeps the instants that matter, from the start of the drill', () => {
    expect(r.chart).toMatchObject({
      fault_ms: 10_000,
      recovered_ms: 12_000,
      first_read_ms: 12_300,
      first_write_ms: 12_005,
      restored_snapshot_ms: 5500,
    });
  });
});

describe('the SVG timeline', () => {
  const r = computeReport(observations());
  const svg = renderTimelineSvg(r);

  it('is one self-contained SVG, without script or link', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).not.toMatch(/<script|href=|url\(/);
    expect(svg.match(/<svg/g)).toHaveLength(1);
  });

  it('says the result and the numbers in its title and its first lines', () => {
    expect(svg).toContain('<title id="title">DR drill data-loss (PRA) on local: PASSED</title>');
    expect(svg).toContain(
      'RTO 2.30 s (first read), 2.00 s (first write) · RPO 4.59 s · 45 of 120 acknowledged writes lost',
    );
  });

  it('draws a bar for each kind of write in each bucket that has some', () => {
    const bars = (what: string) => (svg.match(new RegExp(`: \\d+ ${what}</title>`, 'g')) ?? []).length;
    expect(bars('acknowledged and kept')).toBe(r.chart.buckets.filter((b) => b.kept).length);
    expect(bars('acknowledged and lost')).toBe(r.chart.buckets.filter((b) => b.lost).length);
    expect(bars('refused or failed')).toBe(10);
  });

  it('marks the restored backup, the fault, the restore and the first read and write, in time order', () => {
    expect(markers(r).map((m) => [m.label, m.at])).toEqual([
      ['restored up to here (app-1795341605)', 5500],
      ['FAULT', 10_000],
      ['restore done', 12_000],
      ['first write', 12_005],
      ['first read', 12_300],
    ]);
    for (const label of [
      'restored up to here (app-1795341605)',
      'FAULT',
      'restore done',
      'first read',
      'first write',
    ]) {
      expect(svg).toContain(`>${label}</text>`);
    }
  });

  it('has no restore and no RPO band for a pod loss', () => {
    const pca = computeReport(
      observations({ scenario: 'pod-loss', kind: 'PCA', restored: null, recoveredAt: T0 + 10_000 }),
    );
    expect(markers(pca).map((m) => m.label)).toEqual(['FAULT', 'first write', 'first read']);
    expect(renderTimelineSvg(pca)).not.toContain('fill="#f9a825" fill-opacity="0.16"');
  });

  it('escapes what comes from the target', () => {
    expect(escapeXml('rm -rf <data> & "more"')).toBe('rm -rf &#60;data&#62; &#38; &#34;more&#34;');
    const odd = renderTimelineSvg(computeReport(observations({ faultDetail: 'kill <pid> & rm' })));
    expect(odd).toContain('kill &#60;pid&#62; &#38; rm');
    expect(odd).not.toContain('<pid>');
  });

  it('has round ticks, at most 12', () => {
    expect(tickStepMs(14_200)).toBe(2000);
    expect(tickStepMs(600_000)).toBe(60_000);
  });

  it('is shown at the top of the Markdown report', () => {
    const md = formatMarkdown(r, 'run-data-loss-local.svg');
    expect(md.split('\n')[4]).toMatch(/^!\[The drill over time: .*\]\(run-data-loss-local\.svg\)$/);
    expect(formatMarkdown(r)).not.toContain('![');
  });
});
