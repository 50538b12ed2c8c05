// Stand-ins for the API and the agent behind a port-forward (the fake kubectl serves them from its
// own process, as kubectl port-forward does): just enough of their routes, with their status
// codes, for the runbook's steps.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';

const TOKEN = 'f'.repeat(64);
const backups = [
  {
    id: 'app-1772098381',
    created_at: '2026-02-26T09:33:01.004Z',
    rows: 42,
    size: 20480,
    verified: true,
    offsite: { state: 'uploaded' },
  },
  { id: 'app-1772098321', created_at: '2026-02-26T09:32:01.011Z', rows: 40, size: 20480, verified: true },
];

/** kind: 'api' | 'agent'. unready: the API answers 503 DATABASE_MISSING, as after a volume loss. */
export function serve(kind, port, { unready = false } = {}) {
  // the count survives a restart of the fake (as the database survives the pod) when FAKE_STATE is set
  const state = process.env.FAKE_STATE;
  let count = state && existsSync(state) ? Number(readFileSync(state, 'utf8')) : 41;
  const save = () => state && writeFileSync(state, String(count));
  return http
    .createServer((req, res) => {
      const send = (code, body) => {
        res.writeHead(code, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const url = new URL(req.url, 'http://localhost');
      const { pathname } = url;
      if (pathname === '/health') return send(200, { status: 'ok' });
      if (kind === 'api') {
        if (unready && pathname !== '/') {
          return send(503, { statusCode: 503, code: 'DATABASE_MISSING', message: 'restore one' });
        }
        if (pathname === '/ready') return send(200, { status: 'ready', database: '/data/app.db' });
        if (pathname === '/count') return send(200, { count });
        if (pathname === '/add') {
          count++;
          save();
          return send(200, { status: 'added', id: count });
        }
        if (pathname === '/status') return send(200, { count, last_backup_file: `${backups[0].id}.db` });
        return send(404, { code: 'NOT_FOUND' });
      }
      if (pathname === '/ready') return send(200, { status: 'ready' });
      if (pathname === '/health/backups') {
        // FAKE_REPLICATION=off: an agent that only takes snapshots (the CronJob's settings).
        const on = process.env.FAKE_REPLICATION !== 'off';
        return send(200, { replication: { enabled: on, state: on ? 'following' : 'off' } });
      }
      if (req.method === 'GET' && pathname === '/backups') return send(200, backups);
      if (req.method === 'GET' && pathname === '/backups/latest') return send(200, backups[0]);
      if (req.method === 'POST' && req.headers.authorization !== `Bearer ${TOKEN}`)
        return send(401, { code: 'UNAUTHORIZED' });
      if (req.method === 'POST' && pathname === '/backups')
        return send(201, { id: 'app-1772098441', rows: count });
      if (req.method === 'POST' && pathname.startsWith('/restore/'))
        return send(200, { restored: pathname.slice(9) });
      if (req.method === 'POST' && pathname === '/restore' && url.searchParams.get('at'))
        return send(200, { restored_at: url.searchParams.get('at') });
      send(404, { code: 'NOT_FOUND' });
    })
    .listen(port, '127.0.0.1');
}
