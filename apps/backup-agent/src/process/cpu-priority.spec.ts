import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { AGENT_NICE, lowerCpuPriority } from './cpu-priority';

/** Nice value and scheduling policy of each thread of `pid` (fields 19 and 41 of .../stat). */
function threads(pid: number): { nice: number; policy: number }[] {
  return readdirSync(`/proc/${pid}/task`).map((tid) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { nice: Number(fields[16]), policy: Number(fields[38]) };
  });
}

const SCHED_IDLE = 5;

/** A real Node process (main thread, libuv pool, V8 threads), started at `nice`. */
async function nodeProcess(nice: number): Promise<ChildProcess> {
  const child = spawn('nice', [
    '-n',
    String(nice),
    process.execPath,
    '-e',
    'require("fs").stat(".", () => setInterval(() => undefined, 1000))',
  ]);
  await new Promise((r) => setTimeout(r, 300));
  return child;
}

const linux = process.platform === 'linux' ? describe : describe.skip;
const hasChrt = spawnSync('chrt', ['--version']).status === 0;

linux('lowerCpuPriority', () => {
  let child: ChildProcess | undefined;
  afterEach(() => child?.kill('SIGKILL'));

  it('puts every thread of the process at the agent nice value, in SCHED_IDLE when chrt is there', async () => {
    child = await nodeProcess(0);
    const pid = child.pid as number;
    const before = threads(pid);
    expect(before.length).toBeGreaterThan(4);
    const result = lowerCpuPriority(AGENT_NICE, pid);
    expect(result.reniced).toBe(before.length);
    expect(new Set(threads(pid).map((t) => t.nice))).toEqual(new Set([AGENT_NICE]));
    if (hasChrt) {
      expect(result.policy).toBe('idle');
      expect(new Set(threads(pid).map((t) => t.policy))).toEqual(new Set([SCHED_IDLE]));
    }
  });

  it('never lowers a nice value the operator set higher', async () => {
    child = await nodeProcess(15);
    const pid = child.pid as number;
    expect(lowerCpuPriority(AGENT_NICE, pid).reniced).toBe(0);
    expect(new Set(threads(pid).map((t) => t.nice))).toEqual(new Set([15]));
  });
});
