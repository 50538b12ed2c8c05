/**
 * The corruption fault, as a self-contained script so the same bytes run locally (node -e) and in
 * a container (kubectl/podman exec ... node -e): checkpoint the WAL into the main file, then
 * overwrite a run of pages in the middle of the file with random bytes, and those pages' copies in
 * the WAL too (a failing disk damages the volume, not one file; and a page read from the WAL would
 * hide the damage to the file). A TRUNCATE checkpoint empties the WAL when nothing reads it; with
 * continuous replication the agent always does, so a FULL one copies every frame into the file
 * instead (it waits for the agent's next read, a fraction of a second). Page 1 (the header) is left
 * intact, as disks rarely destroy exactly that.
 */
export const DAMAGE_DB_SCRIPT = String.raw`
const fs = require('fs');
const crypto = require('crypto');
const Database = require('better-sqlite3');
const path = process.argv[1];
const db = new Database(path, { fileMustExist: true, timeout: 5000 });
const [truncated] = db.pragma('wal_checkpoint(TRUNCATE)');
if (truncated.busy !== 0) db.pragma('wal_checkpoint(FULL)');
const pageSize = db.pragma('page_size', { simple: true });
db.close();
const pages = Math.floor(fs.statSync(path).size / pageSize);
const first = Math.max(2, Math.floor(pages / 3));
const count = Math.max(1, Math.min(8, pages - first));
const fd = fs.openSync(path, 'r+');
for (let p = first; p < first + count; p++) fs.writeSync(fd, crypto.randomBytes(pageSize), 0, pageSize, (p - 1) * pageSize);
fs.fsyncSync(fd);
fs.closeSync(fd);
let frames = 0;
if (fs.existsSync(path + '-wal')) {
  const wal = fs.openSync(path + '-wal', 'r+');
  const size = fs.fstatSync(wal).size;
  const header = Buffer.alloc(24);
  for (let at = 32; at + 24 + pageSize <= size; at += 24 + pageSize) {
    fs.readSync(wal, header, 0, 24, at);
    const pgno = header.readUInt32BE(0);
    if (pgno >= first && pgno < first + count) {
      fs.writeSync(wal, crypto.randomBytes(pageSize), 0, pageSize, at + 24);
      frames++;
    }
  }
  fs.fsyncSync(wal);
  fs.closeSync(wal);
}
process.stdout.write('damaged pages ' + first + '..' + (first + count - 1) + ' of ' + pages + (frames ? ' (and ' + frames + ' copies in the WAL)' : '') + '\n');
`;
