/**
 * The corruption fault, as a self-contained script so the same bytes run locally (node -e) and in
 * a container (kubectl/podman exec ... node -e): checkpoint the WAL into the main file (otherwise a
 * newer copy of a page in the WAL would hide the damage), then overwrite a run of pages in the
 * middle of the file with random bytes. Page 1 (the header) is left intact, as disks rarely
 * destroy exactly that.
 */
export const DAMAGE_DB_SCRIPT = String.raw`
const fs = require('fs');
const crypto = require('crypto');
const Database = require('better-sqlite3');
const path = process.argv[1];
const db = new Database(path, { fileMustExist: true, timeout: 5000 });
db.pragma('wal_checkpoint(TRUNCATE)');
const pageSize = db.pragma('page_size', { simple: true });
db.close();
const pages = Math.floor(fs.statSync(path).size / pageSize);
const first = Math.max(2, Math.floor(pages / 3));
const count = Math.max(1, Math.min(8, pages - first));
const fd = fs.openSync(path, 'r+');
for (let p = first; p < first + count; p++) fs.writeSync(fd, crypto.randomBytes(pageSize), 0, pageSize, (p - 1) * pageSize);
fs.fsyncSync(fd);
fs.closeSync(fd);
process.stdout.write('damaged pages ' + first + '..' + (first + count - 1) + ' of ' + pages + '\n');
`;
