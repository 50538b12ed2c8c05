import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/**
 * Backups and restores are background work beside the API: when both want the CPU, the API should
 * get it at once. At nice 10 a waking API thread still waits for the agent's time slice; a thread
 * in SCHED_IDLE is preempted as soon as anything else wants the CPU (measured: bench/README.md,
 * "Measured choices"). It is what systemd's CPUSchedulingPolicy=idle does for backup services.
 * Durability and consistency do not depend on it; a backup only takes longer on a machine whose
 * CPUs are all busy.
 *
 * Both are per-thread settings inherited by threads created later (libuv's pool is created on first
 * use). In Kubernetes they order threads within the agent's container only; between containers the
 * CPU requests decide, so give the agent a smaller one than the API.
 */
export const AGENT_NICE = 10;

export interface PriorityResult {
  /** `idle` when every thread is in SCHED_IDLE; `nice` when only the nice value could be raised. */
  readonly policy: 'idle' | 'nice';
  /** Threads whose nice value was raised. */
  readonly reniced: number;
}

/**
 * Lowers the CPU priority of every thread of process `pid`: nice raised to at least `nice` (never
 * lowered: the operator may have set more), then SCHED_IDLE through util-linux's `chrt` when it is
 * there. Needs no privilege (priority only goes down). Never throws.
 */
export function lowerCpuPriority(nice = AGENT_NICE, pid = process.pid): PriorityResult {
  let reniced = 0;
  for (const tid of threadsOf(pid)) {
    try {
      if (getPriority(tid) < nice) {
        setPriority(tid, nice);
        reniced++;
      }
    } catch {
      // the thread ended meanwhile, or the platform refuses: the agent works the same, less politely
    }
  }
  const chrt = spawnSync('chrt', ['--idle', '--all-tasks', '--pid', '0', String(pid)], { stdio: 'ignore' });
  return { policy: chrt.status === 0 ? 'idle' : 'nice', reniced };
}

function threadsOf(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).map(Number);
  } catch {
    return [pid]; // no /proc (macOS): the calling thread, inherited by threads started later
  }
}
