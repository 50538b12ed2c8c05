import { mustRun, runCommand } from './command-runner';

describe('runCommand', () => {
  it('returns the exit code and output of a command that reads its input', async () => {
    const result = await runCommand('sh', ['-c', 'wc -c; echo oops >&2; exit 3'], 'x'.repeat(1000));
    expect(result).toEqual({ code: 3, stdout: '1000\n', stderr: 'oops\n' });
  });

  it('survives a command that exits without reading a large input (EPIPE)', async () => {
    // 8 MiB is far beyond a pipe buffer: the write is still pending when `true` exits.
    const results = await Promise.all(
      Array.from({ length: 5 }, () => runCommand('true', [], 'y'.repeat(8 * 1024 * 1024))),
    );
    expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
  });

  it('gives a command with no input a closed stdin', async () => {
    // `cat` with no stdin to read ends at once; with an open pipe it would wait forever.
    const result = await runCommand('sh', ['-c', 'cat; echo done'], undefined);
    expect(result).toEqual({ code: 0, stdout: 'done\n', stderr: '' });
  });

  it('rejects when the command does not exist', async () => {
    await expect(runCommand('no-such-command-pra', [])).rejects.toThrow('cannot run no-such-command-pra');
  });

  it('mustRun fails with the stderr of a failing command', async () => {
    await expect(mustRun(runCommand, 'sh', ['-c', 'echo broken >&2; exit 1'])).rejects.toThrow(
      'sh -c echo broken >&2; exit 1 failed (exit 1): broken',
    );
  });
});
