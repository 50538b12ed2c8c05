import { Backoff } from './retry.backoff';

describe('Backoff', () => {
  it('waits base, then twice as long after each failure in a row, capped; a success resets it', () => {
    let now = 10_000;
    const backoff = new Backoff(1000, 5000, () => now);
    expect([backoff.waiting, backoff.nextAttemptAt, backoff.consecutiveFailures]).toEqual([false, null, 0]);

    expect([backoff.failed(), backoff.failed(), backoff.failed(), backoff.failed()]).toEqual([
      1000, 2000, 4000, 5000,
    ]);
    expect(backoff.consecutiveFailures).toBe(4);
    expect(backoff.nextAttemptAt).toBe(15_000);
    now = 14_999;
    expect(backoff.waiting).toBe(true);
    now = 15_000;
    expect(backoff.waiting).toBe(false);

    expect(backoff.succeeded()).toBe(4);
    expect([backoff.waiting, backoff.nextAttemptAt, backoff.consecutiveFailures]).toEqual([false, null, 0]);
    expect(backoff.succeeded()).toBe(0);
    expect(backoff.failed()).toBe(1000);
  });
});
