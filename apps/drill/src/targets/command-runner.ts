import { spawn } from 'node:child_process';

export interface CommandResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command (kubectl, podman...) to completion. Injectable so adapters can be unit-tested. */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  input?: string,
  env?: NodeJS.ProcessEnv,
) => Promise<CommandResult>;

export const runCommand: CommandRunner = (command, args, input, env) =>
  new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], ...(env ? { env } : {}) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += String(d)));
    child.stderr.on('data', (d) => (stderr += String(d)));
    child.on('error', (err) => reject(new Error(`cannot run ${command}: ${err.message}`)));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    // A command that never reads its input (podman exec, kubectl delete...) can exit before the
    // write lands, which fails with EPIPE. It is judged by its exit code, not by the broken pipe:
    // an unhandled 'error' on stdin would kill the whole drill instead.
    child.stdin.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') reject(new Error(`cannot write to ${command}: ${err.message}`));
    });
    if (input === undefined) child.stdin.end();
    else child.stdin.end(input);
  });

/** Runs a command and fails with its stderr when it exits non-zero. */
export async function mustRun(
  run: CommandRunner,
  command: string,
  args: readonly string[],
  input?: string,
  env?: NodeJS.ProcessEnv,
): Promise<string> {
  const result = await run(command, args, input, env);
  if (result.code !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim() || result.stdout.trim()}`,
    );
  }
  return result.stdout;
}

/**
 * The restore result printed by `backup-agent restore`, found in a log that also holds the
 * command's stderr lines (a Job's or a container's log): pretty JSON on stdout, or one JSON line
 * with LOG_FORMAT=json (the cluster's setting), among the JSON log lines.
 */
export function parseRestoreOutput(log: string): {
  restored: { id: string; created_at: string; rows: number; from: 'local' | 's3' };
} {
  for (const line of log.split('\n').reverse()) {
    if (!line.startsWith('{"restored":')) continue;
    try {
      return JSON.parse(line);
    } catch {
      // not the whole result on this line
    }
  }
  const start = log.search(/^\{$/m);
  const end = log.lastIndexOf('\n}');
  if (start < 0 || end < start) throw new Error(`no restore result in the output:\n${log.slice(-2000)}`);
  return JSON.parse(log.slice(start, end + 2));
}
