import { monotonicMs } from './retry.backoff';
import { PassRunner } from './pass.runner';

describe('PassRunner', () => {
  /** A pass that waits until released, counting its runs and the settled calls. */
  function setup(nextRunAt: () => number | null = () => null) {
    const events: string[] = [];
    let release: () => void = () => undefined;
    let runs = 0;
    const runner = new PassRunner(
      () =>
        new Promise<void>((resolve) => {
          runs++;
          events.push(`run ${runs}`);
          release = resolve;
        }),
      { settled: () => events.push('settled'), nextRunAt },
    );
    return { runner, events, release: () => release(), runs: () => runs };
  }
  const tick = () => new Promise((r) => setTimeout(r, 5));

  it('runs one pass at a time; triggers during a pass make exactly one more', async () => {
    const { runner, events, release, runs } = setup();
    runner.trigger(); // not started: nothing
    expect(runs()).toBe(0);
    runner.start();
    expect(runner.running).toBe(true);
    for (let i = 0; i < 5; i++) runner.trigger();
    expect(runs()).toBe(1);
    release();
    await tick();
    expect(runs()).toBe(2);
    release();
    await tick();
    expect(events).toEqual(['run 1', 'settled', 'run 2', 'settled']);
    expect(runner.running).toBe(false);
  });

  it('starts the next pass when nextRunAt says, by itself', async () => {
    let due: number | null = null;
    const { runner, release, runs } = setup(() => due);
    runner.start();
    due = monotonicMs() + 30;
    release();
    await tick();
    expect(runs()).toBe(1);
    due = null;
    await new Promise((r) => setTimeout(r, 60));
    expect(runs()).toBe(2);
    release();
  });

  it('stop: no pass starts any more, and the one in progress is handed back', async () => {
    const { runner, release, runs } = setup(() => monotonicMs());
    runner.start();
    const current = runner.stop();
    expect(current).toBeInstanceOf(Promise);
    runner.trigger();
    release();
    await current;
    await new Promise((r) => setTimeout(r, 20));
    expect(runs()).toBe(1);
    expect(runner.stop()).toBeNull();
  });
});
