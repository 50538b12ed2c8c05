import { decideRetention, isoWeekKey, RetentionCandidate, RetentionPolicy } from './retention.policy';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A backup every 15 minutes from Monday 2026-10-19 00:00 UTC, for `days` days. */
function quarterHourly(days: number): RetentionCandidate[] {
  const start = Date.UTC(2026, 9, 19);
  return Array.from({ length: days * 96 }, (_, i) => {
    const createdAt = new Date(start + i * 15 * 60_000);
    return { id: `app-${createdAt.getTime() / 1000}`, createdAt, verified: true };
  });
}

/** The ids retention deletes, oldest first. */
function selectExpired(list: RetentionCandidate[], policy: RetentionPolicy, now: Date): string[] {
  return [...decideRetention(list, policy, now).expired];
}

describe('decideRetention (GFS retention)', () => {
  it('over five weeks keeps exactly the last N, the newest of each of the last hours, days and weeks', () => {
    const list = quarterHourly(35); // 2026-10-19 .. 2026-11-22 (Sunday) 23:45
    const newest = list[list.length - 1].createdAt.getTime();
    const now = new Date(newest + 60_000);
    const policy = { keepLast: 5, hourly: 24, daily: 7, weekly: 4 };

    const expired = new Set(selectExpired(list, policy, now));
    const kept = list.filter((b) => !expired.has(b.id)).map((b) => b.createdAt.getTime());

    // Expected, computed from the calendar rather than from the implementation:
    const expected = new Set<number>();
    for (let i = 0; i < 5; i++) expected.add(newest - i * 15 * 60_000); // last 5
    for (let h = 0; h < 24; h++) expected.add(newest - h * HOUR); // :45 of each of the last 24 hours
    for (let d = 0; d < 7; d++) expected.add(newest - d * DAY); // 23:45 of each of the last 7 days
    for (let w = 0; w < 4; w++) expected.add(newest - w * 7 * DAY); // Sunday 23:45 of the last 4 weeks

    expect(new Set(kept)).toEqual(expected);
    // 5 last, then 22 more hourly (23:45 and 22:45 are already kept), 6 more daily, 3 more weekly.
    expect(kept).toHaveLength(5 + 22 + 6 + 3);
    expect(expired.size).toBe(list.length - kept.length);
  });

  it('returns expired ids oldest first and never the newest verified backup', () => {
    const list: RetentionCandidate[] = [
      { id: 'app-1000000300', createdAt: new Date(1000000300_000), verified: false },
      { id: 'app-1000000200', createdAt: new Date(1000000200_000), verified: false },
      { id: 'app-1000000100', createdAt: new Date(1000000100_000), verified: true },
      { id: 'app-1000000000', createdAt: new Date(1000000000_000), verified: true },
    ];
    const policy = { keepLast: 1, hourly: 0, daily: 0, weekly: 0 };
    expect(selectExpired(list, policy, new Date(1000000400_000))).toEqual([
      'app-1000000000',
      'app-1000000200',
    ]);
    const decision = decideRetention(list, policy, new Date(1000000400_000));
    expect(decision.keep.get('app-1000000100')).toEqual(['newest-verified']);
    expect(decision.keep.get('app-1000000300')).toEqual(['last']);
  });

  it('does not let a gap in backups consume hourly slots', () => {
    const at = (iso: string) => ({
      id: `app-${Date.parse(iso) / 1000}`,
      createdAt: new Date(iso),
      verified: true,
    });
    const list = [
      at('2026-11-21T12:30:00Z'),
      at('2026-11-21T12:10:00Z'),
      at('2026-11-20T08:50:00Z'), // a day later than the previous hour: still the 2nd hourly slot
      at('2026-11-20T08:20:00Z'),
      at('2026-11-19T07:00:00Z'),
    ];
    const expired = selectExpired(
      list,
      { keepLast: 1, hourly: 2, daily: 0, weekly: 0 },
      new Date('2026-11-22T00:00:00Z'),
    );
    expect(expired).toEqual([list[4].id, list[3].id, list[1].id]);
  });

  it('keeps backups dated in the future (clock went backwards)', () => {
    const list = quarterHourly(1);
    const now = list[10].createdAt;
    const expired = new Set(selectExpired(list, { keepLast: 1, hourly: 0, daily: 0, weekly: 0 }, now));
    expect(list.slice(11).every((b) => !expired.has(b.id))).toBe(true);
    expect(list.slice(0, 10).every((b) => expired.has(b.id))).toBe(true);
  });

  it('keeps everything when the policy is larger than the list', () => {
    expect(
      selectExpired(quarterHourly(1), { keepLast: 1000, hourly: 0, daily: 0, weekly: 0 }, new Date()),
    ).toEqual([]);
  });

  it.each([
    ['2026-11-16T00:00:00Z', '2026-W47'], // Monday
    ['2026-11-22T23:59:59Z', '2026-W47'], // Sunday
    ['2026-01-01T00:00:00Z', '2026-W01'], // Thursday
    ['2027-01-01T00:00:00Z', '2026-W53'], // Friday belongs to the last week of 2026
    ['2024-12-30T00:00:00Z', '2025-W01'],
  ])('ISO week of %s is %s', (iso, week) => {
    expect(isoWeekKey(new Date(iso))).toBe(week);
  });
});
