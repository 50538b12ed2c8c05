// Stand-ins for the API and the agent behind a port-forward (tools/k8s/fakes/kubectl starts them):
// just enough of their routes for workshop.sh's steps. Usage: node fake-services.mjs api|agent PORT
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';

const [kind, port] = process.argv.slice(2);
const TOKEN = 'f'.repeat(64);
// the count survives a restart of the fake (as the database survives the pod) when FAKE_STATE is set
const state = process.env.FAKE_STATE;
let count = state && existsSync(state) ? Number(readFileSync(state, 'utf8')) : 41;
const save = () => state && writeFileSync(state, String(count));
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

http
  .createServer((req, res) => {
    const send = (code, body) => {
      res.writeHead(code, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    const { pathname } = new URL(req.url, 'http://localhost');
    if (pathname === '/health' || pathname === '/ready') return send(200, { status: 'ok' });
    if (kind === 'api') {
      if (pathname === '/count') return send(200, { count });
      if (pathname === '/add') {
        count++;
        save();
        return send(200, { status: 'added', id: count });
      }
      if (pathname === '/status') return send(200, { count, last_backup_file: `${backups[0].id}.db` });
      return send(404, { code: 'NOT_FOUND' });
    }
    if (req.method === 'GET' && pathname === '/backups') return send(200, backups);
    if (req.method === 'GET' && pathname === '/backups/latest') return send(200, backups[0]);
    if (req.method === 'POST' && req.headers.authorization !== `Bearer ${TOKEN}`)
      return send(401, { code: 'UNAUTHORIZED' });
    if (req.method === 'POST' && pathname === '/backups')
      return send(201, { id: 'app-1772098441', rows: count });
    if (req.method === 'POST' && pathname.startsWith('/restore/'))
      return send(200, { restored: pathname.slice(9) });
    send(404, { code: 'NOT_FOUND' });
  })
  .listen(Number(port), '127.0.0.1');
