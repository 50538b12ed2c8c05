import { makeTempDir, readMessages, seedEventsDb } from '@pra-kit/shared/testing';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkExclusiveAccess } from './database-in-use';

/** A second process with its own connection to `path`, like the API (it reads once, then idles). */
function openInChild(path: string, read: boolean) {
  const script = `
    const Database = require('better-sqlite3');
    const db = new Database(process.argv[1], { fileMustExist: true });
    if (process.argv[2] === 'read') db.prepare('SELECT count(*) FROM events').get();
    process.stdout.write('open\\n');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['-e', script, path, read ? 'read' : 'no-read'], {
    stdio: ['ignore', 'pipe', 'inherit'],
    cwd: join(__dirname, '../../../..'),
  });
  const open = new Promise<void>((resolve) => child.stdout?.once('data', () => resolve()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, open, exited };
}

describe('checkExclusiveAccess (is the database open elsewhere?)', () => {
  let temp: ReturnType<typeof makeTempDir>;
  let path: string;
  beforeEach(() => {
    temp = makeTempDir('in-use');
    path = join(temp.path, 'app.db');
    seedEventsDb(path, 25);
  });
  afterEach(() => temp.remove());

  it('sees a connection of another process, and no longer once that process is killed -9', async () => {
    expect(checkExclusiveAccess(path)).toEqual({ inUse: false });
    const other = openInChild(path, true);
    try {
      await other.open;
      expect(checkExclusiveAccess(path)).toEqual({ inUse: true });
      expect(checkExclusiveAccess(path)).toEqual({ inUse: true }); // it waits for nothing, changes nothing
    } finally {
      other.child.kill('SIGKILL');
      await other.exited;
    }
    expect(checkExclusiveAccess(path)).toEqual({ inUse: false });
    expect(readMessages(path)).toHaveLength(25);
  });

  it('sees a second connection of this very process (a serving agent reading the database)', () => {
    const reader = new Database(path, { readonly: true });
    try {
      reader.prepare('SELECT count(*) FROM events').get();
      expect(checkExclusiveAccess(path)).toEqual({ inUse: true });
    } finally {
      reader.close();
    }
    expect(checkExclusiveAccess(path)).toEqual({ inUse: false });
  });

  it('keeps the data and the WAL mode, rows a killed process left in the WAL included', async () => {
    const script = `
      const Database = require('better-sqlite3');
      const db = new Database(process.argv[1], { fileMustExist: true });
      db.pragma('wal_autocheckpoint = 0');
      db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)').run('2026-01-01T00:00:00.000Z', 'only-in-wal');
      process.stdout.write('written\\n');
      setInterval(() => {}, 1000);
    `;
    const writer = spawn(process.execPath, ['-e', script, path], {
      stdio: ['ignore', 'pipe', 'inherit'],
      cwd: join(__dirname, '../../../..'),
    });
    await new Promise<void>((resolve) => writer.stdout?.once('data', () => resolve()));
    writer.kill('SIGKILL');
    await new Promise<void>((resolve) => writer.once('exit', () => resolve()));
    expect(statSync(`${path}-wal`).size).toBeGreaterThan(0);

    expect(checkExclusiveAccess(path)).toEqual({ inUse: false });
    expect(readMessages(path).slice(-2)).toEqual(['seed-24', 'only-in-wal']);
    const db = new Database(path, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  it('cannot see a connection that never read (documented limit); cannot tell for a file that is not a database', async () => {
    const idle = openInChild(path, false);
    try {
      await idle.open;
      expect(checkExclusiveAccess(path)).toEqual({ inUse: false });
    } finally {
      idle.child.kill('SIGKILL');
      await idle.exited;
    }
    const garbage = join(temp.path, 'garbage.db');
    writeFileSync(garbage, Buffer.alloc(8192, 0x41));
    expect(checkExclusiveAccess(garbage)).toEqual({
      inUse: null,
      detail: expect.stringMatching(/SQLITE_NOTADB/),
    });
  });
});
