// The baseline for the /add target: the "one connection per request" design (the workshop's
// original Flask app works this way). Each request opens the database, inserts its row, commits
// with synchronous=FULL and closes the connection before answering, so every answer is as durable
// as the API's. Same schema, same file, same machine, same load; only the design differs.
//
//   DB_PATH=... PORT=... node bench/baseline/one-connection-per-request.mjs
import Database from 'better-sqlite3';
import { createServer } from 'node:http';

const dbPath = process.env.DB_PATH;
const port = Number(process.env.PORT);

createServer((req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/ready') return res.end('{"status":"ready"}');
  if (url.pathname !== '/add') {
    res.statusCode = 404;
    return res.end('{"code":"NOT_FOUND"}');
  }
  const db = new Database(dbPath, { fileMustExist: true, timeout: 5000 });
  try {
    db.pragma('synchronous = FULL');
    const ts = new Date().toISOString();
    const message = url.searchParams.get('message') ?? 'hello';
    const { lastInsertRowid } = db.prepare('INSERT INTO events (ts, message) VALUES (?, ?)').run(ts, message);
    res.setHeader('content-type', 'application/json; charset=utf-8');
    res.end(JSON.stringify({ status: 'added', id: Number(lastInsertRowid), timestamp: ts, message }));
  } catch (err) {
    res.statusCode = 503;
    res.end(JSON.stringify({ code: 'DATABASE_ERROR', message: String(err.message) }));
  } finally {
    db.close();
  }
}).listen(port, '127.0.0.1');
