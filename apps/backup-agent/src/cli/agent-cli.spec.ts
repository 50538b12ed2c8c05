import { backupRefArgs, LATEST, parseBackupRef } from '@pra-kit/shared';
import { makeTempDir, seedEventsDb } from '@pra-kit/shared/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCommand } from './agent-cli';
import { EXIT } from './exit-codes';

describe('one-shot commands', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let env: NodeJS.ProcessEnv;
  let out: string[];
  let err: string[];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
  const run = (...argv: string[]) => runCommand(argv[0], argv.slice(1), env, io);

  beforeEach(() => {
    temp = makeTempDir('cli');
    env = { DB_PATH: join(temp.path, 'data', 'app.db'), BACKUP_DIR: join(temp.path, 'backup') };
    out = [];
    err = [];
  });
  afterEach(() => temp.remove());

  it('backup, list, verify and restore with their exit codes', async () => {
    expect(await run('backup')).toBe(EXIT.failed);
    expect(err.join('\n')).toMatch(/does not exist/);

    seedEventsDb(env['DB_PATH'] as string, 7);
    expect(await run('backup')).toBe(EXIT.ok);
    const id = /backup (app-\d+) ok: 7 rows/.exec(out.join('\n'))?.[1] as string;
    expect(id).toBeDefined();

    out = [];
    expect(await run('list', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(out.join(''))).toEqual([expect.objectContaining({ id, rows: 7, verified: true })]);
    out = [];
    expect(await run('list')).toBe(EXIT.ok);
    expect(out.join('\n')).toMatch(new RegExp(`^${id}\\s+\\S+ \\S+\\s+\\S+\\s+7\\s`, 'm'));

    expect(await run('verify', '--id', `${id}.db`)).toBe(EXIT.ok);
    expect(await run('restore', '--id', id, '--dry-run')).toBe(EXIT.ok);
    expect(await run('restore', '--id', '', '--offline')).toBe(EXIT.ok);
    expect(JSON.parse(out[out.length - 1])).toMatchObject({
      mode: 'offline',
      rows_after: 7,
      restored: { id },
    });

    const file = join(temp.path, 'backup', `${id}.db`);
    const bytes = readFileSync(file);
    bytes[200] ^= 0xff;
    writeFileSync(file, bytes);
    expect(await run('verify')).toBe(EXIT.corrupt);
    expect(await run('restore', '--id', id)).toBe(EXIT.corrupt);
    expect(await run('restore', '--id', 'app-1111111111')).toBe(EXIT.notFound);
  });

  it.each([
    [['restore'], /give --id <id> or --latest/],
    [['restore', '--id', '../../etc/passwd'], /invalid backup id/],
    [['restore', '--id', 'app-1795306644', '--latest'], /either --id or --latest/],
    [['backup', '--bogus'], /Unknown option '--bogus'/],
    [['list', '--id', 'app-1795306644'], /unknown option\(s\) for list: --id/],
    [['restore', '--latest', '--from', 'ftp'], /--from must be local or s3/],
    [
      ['restore', '--at', 'yesterday'],
      /invalid instant "yesterday": expected an ISO-8601 .* or unix seconds/,
    ],
    [['restore', '--at', '2026-11-22T09:30:00'], /invalid instant/], // no zone
    [['restore', '--at', '2026-11-22T09:30:00Z', '--latest'], /one of --id, --latest or --at/],
    [['restore', '--at', '1795339800', '--id', 'app-1795306644'], /one of --id, --latest or --at/],
    [['restore', '--at', ''], /give --id <id> or --latest/],
    [['verify', '--at', '1795339800'], /unknown option\(s\) for verify: --at/],
    [['nope'], /unknown command "nope"/],
  ])('usage errors exit 2 with a clear message: %j', async (argv, message) => {
    expect(await run(...(argv as string[]))).toBe(EXIT.usage);
    expect(err.join('\n')).toMatch(message);
  });

  it('names backups the way libs/shared does: backupRefArgs of each ref is what restore reads', async () => {
    seedEventsDb(env['DB_PATH'] as string, 3);
    expect(await run('backup')).toBe(EXIT.ok);
    const id = /backup (app-\d+) ok/.exec(out.join('\n'))?.[1] as string;
    for (const ref of [LATEST, parseBackupRef(id)]) {
      out = [];
      expect(await run('restore', ...backupRefArgs(ref), '--dry-run')).toBe(EXIT.ok);
      expect(JSON.parse(out.join('\n')).restored.id).toBe(id);
    }
    // A Job passes both variables, one of them empty.
    out = [];
    expect(await run('restore', '--id', '', '--at', '', '--dry-run')).toBe(EXIT.ok);
    expect(JSON.parse(out.join('\n')).restored.id).toBe(id);
  });

  it('a restore to an instant is well-formed but needs continuous replication: exit 3, nothing done', async () => {
    env['BACKUP_REPLICATION'] = 'off';
    seedEventsDb(env['DB_PATH'] as string, 3);
    expect(await run('backup')).toBe(EXIT.ok);
    const at = { kind: 'at', at: new Date() } as const;
    for (const argv of [backupRefArgs(at), ['--id', '', '--at', '1795339800.5']]) {
      err = [];
      expect(await run('restore', ...argv, '--offline')).toBe(EXIT.notFound);
      expect(err.join('\n')).toMatch(/point-in-time restore needs continuous replication/);
    }
    out = [];
    expect(await run('list', '--json')).toBe(EXIT.ok);
    expect(JSON.parse(out.join(''))).toHaveLength(1); // no safety snapshot was taken
  });

  it('configuration errors exit 2 naming the variable; --help prints the usage', async () => {
    env['BACKUP_VERIFY'] = 'sometimes';
    expect(await run('backup')).toBe(EXIT.usage);
    expect(err.join('\n')).toMatch(/BACKUP_VERIFY must be one of quick, full/);
    expect(await run('restore', '--help')).toBe(EXIT.ok);
    expect(out.join('\n')).toMatch(/^Usage: /);
  });
});
