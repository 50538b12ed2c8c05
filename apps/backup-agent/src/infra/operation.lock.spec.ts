import { makeTempDir } from '@pra-kit/shared/testing';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { OperationInProgressError } from '../core/errors';
import { OperationLock } from './operation.lock';

/** Holds the lock from another process, like a restore Job beside the serving agent. */
function holdLockInChild(lockFile: string) {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { timeout: 0 });
    db.exec('BEGIN EXCLUSIVE');
    process.stdout.write('locked\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script, lockFile], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: join(__dirname, '../../../..'),
  });
  const locked = new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, locked, exited };
}

describe('OperationLock', () => {
  let temp: ReturnType<typeof makeTempDir>;
  beforeEach(() => (temp = makeTempDir('lock')));
  afterEach(() => temp.remove());

  it('lets one operation run at a time in a process and names the one running', async () => {
    const lock = new OperationLock(join(temp.path, '.agent.lock'));
    let release!: () => void;
    const first = lock.run('restore', () => new Promise<string>((r) => (release = () => r('done'))));
    expect(lock.current).toBe('restore');
    await expect(lock.run('backup', async () => 'no')).rejects.toMatchObject({ code: 'RESTORE_IN_PROGRESS' });
    release();
    await expect(first).resolves.toBe('done');
    expect(lock.current).toBeNull();
    await expect(lock.run('backup', async () => 'yes')).resolves.toBe('yes');
  });

  it('releases the lock when the operation throws', async () => {
    const lock = new OperationLock(join(temp.path, '.agent.lock'));
    await expect(lock.run('backup', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.run('backup', async () => 1)).resolves.toBe(1);
  });

  it('excludes another process, and is released by the kernel when that process is killed -9', async () => {
    const file = join(temp.path, '.agent.lock');
    const holder = holdLockInChild(file);
    await holder.locked;
    const lock = new OperationLock(file);
    const attempt = lock.run('backup', async () => 'ran');
    await expect(attempt).rejects.toBeInstanceOf(OperationInProgressError);
    await expect(attempt).rejects.toMatchObject({ code: 'OPERATION_IN_PROGRESS' });

    holder.child.kill('SIGKILL');
    await holder.exited;
    await expect(lock.run('backup', async () => 'ran')).resolves.toBe('ran');
  });
});
