import type { RestorableRange, RestorePoint } from './model';
import {
  AXIS_LEFT,
  chooseWindow,
  clockOffset,
  clusters,
  exposureGaps,
  freshness,
  layoutTimeline,
  instantInRange,
  restorableIntervals,
  ticks,
} from './timeline';

const T0 = Date.parse('2026-11-22T10:00:00Z');
const s = (seconds: number) => T0 + seconds * 1000;

function point(id: string, at: number, over: Partial<RestorePoint> = {}): RestorePoint {
  return {
    id,
    createdAt: at,
    rows: 10,
    size: 16384,
    verified: true,
    reason: 'scheduled',
    location: 'local',
    offsite: null,
    note: null,
    chain: null,
    ...over,
  };
}

function range(
  id: string,
  from: number,
  to: number,
  live = false,
  offsite: RestorableRange['offsite'] = null,
): RestorableRange {
  return { id, live, from, to, endReason: null, snapshots: [], transactions: null, bytes: null, offsite };
}

describe('restorableIntervals', () => {
  it('counts verified backups, not safety snapshots nor files never verified, and merges ranges', () => {
    const intervals = restorableIntervals(
      [
        point('a', s(0)),
        point('b', s(30), { reason: 'pre-restore' }),
        point('c', s(40), { verified: null, reason: 'unknown' }),
        point('d', s(100)),
        point('e', s(130), { location: 'offsite' }), // an offsite copy restores as well
      ],
      [range('r1', s(90), s(120)), range('r2', s(115), s(125))],
    );
    expect(intervals).toEqual([
      { from: s(0), to: s(0) },
      { from: s(90), to: s(125) }, // d lies inside r1; r1 and r2 overlap
      { from: s(130), to: s(130) },
    ]);
  });

  it("counts the bucket's ranges too (the local volume may be the one lost)", () => {
    expect(restorableIntervals([], [range('gone', s(0), s(0), false, { from: s(10), to: s(20) })])).toEqual([
      { from: s(0), to: s(0) },
      { from: s(10), to: s(20) },
    ]);
  });

  it('is empty without any restorable instant', () => {
    expect(restorableIntervals([point('x', s(0), { verified: false })], [])).toEqual([]);
  });
});

describe('exposureGaps', () => {
  const objective = 60_000;

  it('marks the time between two points farther apart than the objective, from the objective on', () => {
    const gaps = exposureGaps(
      [
        { from: s(0), to: s(0) },
        { from: s(50), to: s(50) }, // 50 s later: within the objective, no gap
        { from: s(200), to: s(200) }, // 150 s later: a gap from 110 s to 200 s
      ],
      objective,
      s(230),
    );
    expect(gaps).toEqual([{ from: s(110), to: s(200), current: false }]);
  });

  it('keeps a gap open until now when the newest instant is older than the objective', () => {
    expect(exposureGaps([{ from: s(0), to: s(0) }], objective, s(100))).toEqual([
      { from: s(60), to: s(100), current: true },
    ]);
    expect(exposureGaps([{ from: s(0), to: s(0) }], objective, s(60))).toEqual([]);
  });

  it('has no gap inside a continuous range, only after its end', () => {
    const gaps = exposureGaps([{ from: s(0), to: s(600) }], objective, s(700));
    expect(gaps).toEqual([{ from: s(660), to: s(700), current: true }]);
  });

  it('has nothing to measure before the first restorable instant', () => {
    expect(exposureGaps([], objective, s(1000))).toEqual([]);
  });
});

describe('freshness: the age of the newest restorable instant against the objective', () => {
  const objective = 60_000;
  const one = (at: number) => [{ from: at, to: at }];

  it('is ok up to 80 % of the objective, near up to 100 %, late beyond', () => {
    expect(freshness(one(s(0)), s(30), objective)).toMatchObject({
      ageMs: 30_000,
      ratio: 0.5,
      ok: true,
      level: 'ok',
    });
    expect(freshness(one(s(0)), s(55), objective)).toMatchObject({ ok: true, level: 'near' });
    expect(freshness(one(s(0)), s(60), objective)).toMatchObject({ ok: true, level: 'near' });
    expect(freshness(one(s(0)), s(61), objective)).toMatchObject({ ok: false, level: 'late' });
  });

  it('is 0 s old while a live range reaches now', () => {
    expect(freshness([{ from: s(0), to: s(100) }], s(100), 1000)).toMatchObject({ ageMs: 0, ok: true });
  });

  it('says none when nothing can be restored', () => {
    expect(freshness([], s(100), objective)).toMatchObject({
      newestAt: null,
      ageMs: null,
      ok: false,
      level: 'none',
    });
  });

  it('never reads a newest instant in the future as a negative age', () => {
    expect(freshness(one(s(105)), s(100), objective)).toMatchObject({ newestAt: s(100), ageMs: 0 });
  });
});

describe('chooseWindow', () => {
  const now = s(3600);

  it('shows everything from the oldest point, with a margin on both sides', () => {
    const w = chooseWindow('all', [point('a', s(0)), point('b', s(3000))], [], now);
    expect(w.start).toBeLessThan(s(0));
    expect(w.end).toBeGreaterThan(now);
    expect(s(0) - w.start).toBeCloseTo(0.04 * 3600_000);
  });

  it('shows at least 10 seconds, and a preset ends now', () => {
    const w = chooseWindow('all', [point('a', now - 1000)], [], now);
    expect(now - w.start).toBeGreaterThanOrEqual(10_000);
    expect(chooseWindow('15m', [], [], now).start).toBe(now - 15 * 60_000);
    expect(chooseWindow('1h', [point('a', s(0))], [], now).start).toBe(now - 3600_000);
  });

  it('starts at the oldest range too', () => {
    expect(chooseWindow('all', [point('a', s(100))], [range('r', s(10), s(50))], now).start).toBeLessThan(
      s(10),
    );
  });
});

describe('layoutTimeline', () => {
  const now = s(300);
  const window = { start: s(0), end: s(300) };
  const base = { now, objectiveMs: 60_000, window, width: 1000 };
  const right = 1000 - 10;

  it('places each point by its time, in the lanes of its copies', () => {
    const layout = layoutTimeline({
      ...base,
      points: [
        point('local', s(150)),
        point('both', s(0), { location: 'both', offsite: { state: 'uploaded' } }),
        point('remote', s(300), { location: 'offsite' }),
      ],
      ranges: [],
    });
    expect(layout.lanes.map((l) => l.key)).toEqual(['local', 'offsite']);
    expect(layout.marks.map((m) => [m.point.id, m.x, m.lanes])).toEqual([
      ['both', AXIS_LEFT, ['local', 'offsite']],
      ['local', (AXIS_LEFT + right) / 2, ['local']],
      ['remote', right, ['offsite']],
    ]);
    expect(layout.nowX).toBe(right);
    expect(layout.at(layout.x(s(123)))).toBeCloseTo(s(123));
  });

  it('has a continuous lane only when there are ranges, and clips them to the window', () => {
    const layout = layoutTimeline({
      ...base,
      points: [point('p', s(100))],
      ranges: [range('old', s(-500), s(-400)), range('r', s(-100), s(150)), range('live', s(200), now, true)],
    });
    expect(layout.lanes.map((l) => l.key)).toEqual(['continuous', 'local']);
    expect(layout.ranges.map((r) => [r.item.id, r.x1, r.x2])).toEqual([
      ['r', AXIS_LEFT, layout.x(s(150))],
      ['live', layout.x(s(200)), right],
    ]);
    // Gaps: 60 s after the range r ends (150 s) until the live range starts (200 s): none; the
    // point at 100 s is inside r.
    expect(layout.gaps).toEqual([]);
    expect(layout.freshness).toMatchObject({ ageMs: 0, ok: true });
  });

  it("draws the bucket's copy of a range in the offsite lane", () => {
    const layout = layoutTimeline({
      ...base,
      points: [],
      ranges: [range('c', s(0), s(300), true, { from: s(0), to: s(240) })],
    });
    expect(layout.lanes.map((l) => l.key)).toEqual(['continuous', 'local', 'offsite']);
    expect(layout.offsiteRanges.map((r) => [r.item.id, r.x1, r.x2])).toEqual([
      ['c', AXIS_LEFT, layout.x(s(240))],
    ]);
  });

  it('draws a live range up to now, however long ago it was read', () => {
    const layout = layoutTimeline({ ...base, points: [], ranges: [range('live', s(100), s(200), true)] });
    expect(layout.ranges.map((r) => [r.x1, r.x2])).toEqual([[layout.x(s(100)), right]]);
    expect(layout.gaps).toEqual([]);
    expect(layout.freshness).toMatchObject({ ageMs: 0, ok: true });
  });

  it('draws the gaps that are in the window, and counts the points before it', () => {
    const layout = layoutTimeline({
      ...base,
      points: [point('before', s(-400)), point('a', s(20)), point('b', s(200))],
      ranges: [],
    });
    expect(layout.hiddenBefore).toBe(1);
    expect(layout.marks.map((m) => m.point.id)).toEqual(['a', 'b']);
    // before -> a: gap from -340 s (clipped to the window's start) to 20 s; a -> b: 80 s to 200 s;
    // b -> now: 100 s, a gap from 260 s, still open.
    expect(layout.gaps.map((g) => [g.item.from, g.item.to, g.item.current, g.x1])).toEqual([
      [s(-340), s(20), false, AXIS_LEFT],
      [s(80), s(200), false, layout.x(s(80))],
      [s(260), s(300), true, layout.x(s(260))],
    ]);
    expect(layout.freshness).toMatchObject({ ageMs: 100_000, ok: false, level: 'late' });
  });

  it('has round ticks within the window', () => {
    const layout = layoutTimeline({ ...base, points: [], ranges: [] });
    expect(layout.ticks.length).toBeGreaterThan(2);
    expect(layout.ticks.every((t) => t.t % 30_000 === 0 && t.x >= AXIS_LEFT && t.x <= right)).toBe(true);
  });
});

describe('clusters', () => {
  it('groups marks that overlap by more than half', () => {
    expect(clusters([10, 15, 19, 40, 100, 104], 7)).toEqual([
      { x: 14.5, count: 3 },
      { x: 102, count: 2 },
    ]);
    expect(clusters([10, 30, 50], 7)).toEqual([]);
    expect(clusters([], 7)).toEqual([]);
  });
});

describe('ticks', () => {
  it('picks the smallest round step that gives at most the number asked', () => {
    expect(ticks({ start: s(0), end: s(60) }, 6)).toEqual([0, 10, 20, 30, 40, 50, 60].map(s));
    const hour = ticks({ start: s(0), end: s(3600) }, 8);
    expect(hour[1] - hour[0]).toBe(10 * 60_000);
  });
});

describe('instantInRange', () => {
  it('chooses the whole second at or before the click, inside the range', () => {
    const r = range('a', s(10) + 500, s(20) + 250);
    expect(instantInRange(r, s(15) + 700)).toBe(s(15));
    expect(instantInRange(r, s(30))).toBe(s(20)); // past the end: its last whole second
  });

  it('never chooses a second before the range starts (the agent would refuse it)', () => {
    const r = range('a', s(10) + 500, s(20));
    expect(instantInRange(r, s(10) + 600)).toBe(s(11)); // s(10) is before the range
    expect(instantInRange(r, s(5))).toBe(s(11));
  });

  it('in a range holding no whole second, the clicked instant itself', () => {
    const r = range('a', s(10) + 200, s(10) + 700);
    expect(instantInRange(r, s(10) + 400)).toBe(s(10) + 400);
    expect(instantInRange(r, s(9))).toBe(s(10) + 200);
  });
});

describe('clockOffset', () => {
  const received = s(100);

  it("keeps the browser's clock when it agrees with the agent's Date header", () => {
    expect(clockOffset(received, s(100), s(99))).toBe(0);
    expect(clockOffset(received + 600, s(100), null)).toBe(0); // within the header's second
  });

  it('follows the agent when the browser is more than a second off', () => {
    expect(clockOffset(received, s(130), null)).toBe(30_000); // browser 30 s behind
    expect(clockOffset(received, s(70), null)).toBe(-29_000); // ahead: the latest the agent can be
  });

  it('never puts the newest restore point in the future', () => {
    expect(clockOffset(received, null, s(100) + 400)).toBe(400);
  });
});
