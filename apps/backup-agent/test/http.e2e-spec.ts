import { seedEventsDb } from '@pra-kit/shared/testing';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Layout, makeLayout, startTestAgent } from './support/agent-harness';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };

describe('agent HTTP API', () => {
  let layout: Layout;
  let agent: Awaited<ReturnType<typeof startTestAgent>>;

  beforeEach(async () => {
    layout = makeLayout('agent-http');
    seedEventsDb(layout.dbPath, 25);
    agent = await startTestAgent(layout, { BACKUP_TOKEN: TOKEN });
  });
  afterEach(async () => {
    await agent.close();
    layout.remove();
  });

  it('POST /backups takes a backup (201, its manifest); GET /backups lists it; GET /backups/:id shows it', async () => {
    const created = (await agent.http().post('/backups').set(auth).expect(201)).body;
    expect(created).toMatchObject({ format: 1, rows: 25, reason: 'manual', verification: { ok: true } });
    expect(created.sha256).toMatch(/^[0-9a-f]{64}$/);

    const list = (await agent.http().get('/backups').expect(200)).body;
    expect(list).toEqual([
      expect.objectContaining({
        id: created.id,
        file: `${created.id}.db`,
        rows: 25,
        sha256: created.sha256,
        size: created.size,
        verified: true,
        location: 'local',
        offsite: null,
      }),
    ]);
    expect((await agent.http().get(`/backups/${created.id}`).expect(200)).body.id).toBe(created.id);
    expect((await agent.http().get(`/backups/${created.id}.db`).expect(200)).body.id).toBe(created.id);
    expect((await agent.http().get('/backups/latest').expect(200)).body.id).toBe(created.id);
  });

  it('POST /restore/:id restores (rows before/after, safety snapshot); ?dry_run=true changes nothing', async () => {
    const a = (await agent.http().post('/backups').set(auth).expect(201)).body;
    seedEventsDb(layout.dbPath, 5);
    const dry = (await agent.http().post(`/restore/${a.id}?dry_run=true`).set(auth).expect(200)).body;
    expect(dry).toMatchObject({ dry_run: true, rows_before: 30, rows_after: 25, safety_snapshot: null });
    expect((await agent.http().get('/backups').expect(200)).body).toHaveLength(1);

    const done = (await agent.http().post(`/restore/${a.id}`).set(auth).expect(200)).body;
    expect(done).toMatchObject({
      mode: 'online',
      rows_before: 30,
      rows_after: 25,
      restored: { id: a.id, rows: 25 },
    });
    expect(done.duration_ms).toBeGreaterThanOrEqual(0);
    const safety = (await agent.http().get(`/backups/${done.safety_snapshot}`).expect(200)).body;
    expect(safety).toMatchObject({ rows: 30, reason: 'pre-restore', verified: true });
  });

  it('GET /backups/latest names what POST /restore/latest restores, never a safety snapshot', async () => {
    const older = (await agent.http().post('/backups').set(auth).expect(201)).body;
    await new Promise((r) => setTimeout(r, 1100)); // another second: a distinct, newer id
    seedEventsDb(layout.dbPath, 2);
    const newer = (await agent.http().post('/backups').set(auth).expect(201)).body;
    const restored = (await agent.http().post(`/restore/${older.id}`).set(auth).expect(200)).body;
    const newest = (await agent.http().get('/backups').expect(200)).body[0];
    expect(newest).toMatchObject({ id: restored.safety_snapshot, reason: 'pre-restore' });

    expect((await agent.http().get('/backups/latest').expect(200)).body.id).toBe(newer.id);
    const dry = (await agent.http().post('/restore/latest?dry_run=true').set(auth).expect(200)).body;
    expect(dry.restored.id).toBe(newer.id);
  });

  it('POST /restore?at=<instant>: 422 POINT_IN_TIME_UNAVAILABLE, 400 for a malformed or missing instant', async () => {
    await agent.http().post('/backups').set(auth).expect(201);
    const listed = (await agent.http().get('/backups').expect(200)).body;
    await agent.http().post('/restore?at=2026-11-22T09:30:00Z').expect(401);
    for (const at of ['2026-11-22T09:30:00Z', '2026-11-22T10:30:00%2B01:00', '1795339800.5']) {
      // This agent does not follow the WAL (no chain was ever written): no instant is restorable.
      const res = await agent.http().post(`/restore?at=${at}`).set(auth).expect(422);
      expect(res.body).toMatchObject({ statusCode: 422, code: 'POINT_IN_TIME_UNAVAILABLE' });
      expect(res.body.message).toMatch(/no replication chain with a verified snapshot exists yet/);
    }
    for (const at of ['yesterday', '2026-11-22T09:30:00', '2026-02-30T00:00:00Z']) {
      const res = await agent.http().post(`/restore?at=${at}`).set(auth).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'INVALID_INSTANT' });
      expect(res.body.message).toMatch(/ISO-8601 .* or unix seconds/);
    }
    for (const path of ['/restore', '/restore?at=']) {
      const res = await agent.http().post(path).set(auth).expect(400);
      expect(res.body).toMatchObject({ code: 'INVALID_PARAMETER' });
      expect(res.body.message).toMatch(
        /POST \/restore\/<id>, POST \/restore\/latest, or POST \/restore\?at=/,
      );
    }
    expect((await agent.http().get('/backups').expect(200)).body).toEqual(listed); // nothing done
    expect((await agent.http().get('/metrics').expect(200)).text).toMatch(/^pra_restores_total 0$/m);
  });

  it('destructive routes need the bearer token: 401 without or with a wrong one, nothing done', async () => {
    for (const headers of [
      {},
      { Authorization: 'Bearer wrong-token-wrong-token' },
      { Authorization: TOKEN },
    ]) {
      const res = await agent.http().post('/backups').set(headers).expect(401);
      expect(res.body).toMatchObject({ statusCode: 401, code: 'UNAUTHORIZED' });
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      await agent.http().post('/restore/latest').set(headers).expect(401);
    }
    expect((await agent.http().get('/backups').expect(200)).body).toEqual([]);
  });

  it.each([
    ['/restore/..%2F..%2Fetc%2Fpasswd', 'post'],
    ['/restore/%2e%2e', 'post'],
    ['/restore/../../etc/passwd', 'post'],
    ['/restore/app-1', 'post'],
    ['/restore/app-1795306644;rm', 'post'],
    ['/backups/%2e%2e%2fapp.db', 'get'],
    ['/backups/..', 'get'],
    ['/backups/app-1795306644.json', 'get'],
  ])(
    '400 INVALID_BACKUP_ID for %s: rejected by the id pattern, never used as a path',
    async (path, method) => {
      rmSync(layout.backupDir, { recursive: true, force: true });
      const res = await agent.http()[method as 'get' | 'post'](path).set(auth).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, code: 'INVALID_BACKUP_ID' });
      expect(res.body.message).toMatch(/invalid backup id/);
      expect(existsSync(layout.backupDir)).toBe(false); // nothing was listed, created or locked
    },
  );

  it('404 for an unknown id, 409 for a concurrent restore, 422 for a tampered backup', async () => {
    await agent.http().post('/restore/app-1111111111').set(auth).expect(404);
    expect((await agent.http().get('/backups/app-1111111111').expect(404)).body.code).toBe(
      'BACKUP_NOT_FOUND',
    );

    seedEventsDb(layout.dbPath, 30_000);
    const a = (await agent.http().post('/backups').set(auth).expect(201)).body;
    const [first, second] = await Promise.all([
      agent.http().post(`/restore/${a.id}`).set(auth),
      agent.http().post(`/restore/${a.id}`).set(auth),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    expect([first, second].find((r) => r.status === 409)?.body.code).toBe('RESTORE_IN_PROGRESS');

    const file = join(layout.backupDir, `${a.id}.db`);
    const bytes = readFileSync(file);
    bytes[bytes.length >> 1] ^= 0x10;
    writeFileSync(file, bytes);
    const res = await agent.http().post(`/restore/${a.id}`).set(auth).expect(422);
    expect(res.body).toMatchObject({ code: 'BACKUP_CORRUPT' });
    expect(res.body.message).toMatch(/sha256/);
  });

  it('503 with a clear message when the source database is missing; the agent stays ready to restore', async () => {
    rmSync(layout.dbPath);
    const res = await agent.http().post('/backups').set(auth).expect(503);
    expect(res.body).toMatchObject({ code: 'SOURCE_DATABASE_UNAVAILABLE' });
    expect(res.body.message).toMatch(/does not exist/);
    expect((await agent.http().get('/ready').expect(200)).body).toMatchObject({ source_database: 'missing' });
    expect((await agent.http().get('/health').expect(200)).body).toEqual({ status: 'ok' });
  });

  it('GET /metrics exposes last success, duration, size, failures, backups count and restores', async () => {
    await agent.http().post('/backups').set(auth).expect(201);
    rmSync(layout.dbPath);
    await agent.http().post('/backups').set(auth).expect(503);
    const text = (await agent.http().get('/metrics').expect(200)).text;
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1]);
    expect(value('pra_backup_last_success_timestamp_seconds')).toBeGreaterThan(Date.now() / 1000 - 60);
    expect(value('pra_backup_last_duration_seconds')).toBeGreaterThan(0);
    expect(value('pra_backup_last_size_bytes')).toBeGreaterThan(4096);
    expect(value('pra_backup_last_rows')).toBe(25);
    expect(value('pra_backup_failures_total')).toBe(1);
    expect(value('pra_backup_taken_total')).toBe(1);
    expect(value('pra_backups')).toBe(1);
    expect(value('pra_restores_total')).toBe(0);
    expect(text).toMatch(/^http_requests_total\{method="POST",route="\/backups",status="503"\} 1$/m);
  });
});

describe('the API and the agent agree on the last backup', () => {
  it('/status of the API and /metrics of the agent name the same newest backup and time', async () => {
    const { startApiProcess } = await import('./support/agent-harness');
    const layout = makeLayout('agree');
    seedEventsDb(layout.dbPath, 3);
    const agent = await startTestAgent(layout);
    const api = await startApiProcess(layout);
    try {
      await agent.http().post('/backups').expect(201);
      const newest = (await agent.http().post('/backups').expect(201)).body;
      const status = (await (await fetch(`${api.baseUrl}/status`)).json()) as Record<string, unknown>;
      const metrics = (await agent.http().get('/metrics').expect(200)).text;
      const apiMetrics = await (await fetch(`${api.baseUrl}/metrics`)).text();
      const agentTs = Number(/^pra_backup_newest_timestamp_seconds (\S+)$/m.exec(metrics)?.[1]);
      const apiTs = Number(/^pra_api_last_backup_timestamp_seconds (\S+)$/m.exec(apiMetrics)?.[1]);
      expect(status).toMatchObject({
        last_backup_file: newest.file,
        last_backup_at: newest.created_at,
        last_backup_verified: true,
      });
      expect(agentTs * 1000).toBe(Date.parse(newest.created_at));
      expect(apiTs).toBe(agentTs);
      expect((await agent.http().get('/backups').expect(200)).body[0].id).toBe(newest.id);

      // Every metric the alert rules read is exported by one of them: a renamed metric would
      // silently disable its alert.
      const rules = readFileSync(
        join(__dirname, '../../../deploy/k8s/overlays/monitoring/prometheus-rule.yaml'),
        'utf8',
      );
      const used = [...new Set(rules.match(/\bpra_[a-z_]+\b/g))].sort();
      const exported = (name: string) =>
        new RegExp(`^# TYPE ${name} `, 'm').test(name.startsWith('pra_api_') ? apiMetrics : metrics);
      expect(used.length).toBeGreaterThan(10);
      expect(used.filter((name) => !exported(name))).toEqual([]);
    } finally {
      await api.stop();
      await agent.close();
      layout.remove();
    }
  });
});
