import { seedEventsDb } from '@pra-kit/shared/testing';
import { randomBytes } from 'node:crypto';
import { sha256File } from '../src/infra/durable-fs';
import { Layout, makeLayout, startTestAgent, until } from './support/agent-harness';
import { newBucketName, S3TestServer, startS3Server } from './support/s3-server';

const TOKEN = 'test-token-0123456789abcdef';
const auth = { Authorization: `Bearer ${TOKEN}` };

/** The HTTP side of offsite copies, in-process (supertest) against a real S3 server. */
describe('agent HTTP API with offsite copies', () => {
  let s3: S3TestServer;
  let layout: Layout;
  const agents: Awaited<ReturnType<typeof startTestAgent>>[] = [];
  const start = async (env: Record<string, string>) => {
    const agent = await startTestAgent(layout, { BACKUP_TOKEN: TOKEN, ...env });
    agents.push(agent);
    return agent;
  };

  beforeAll(async () => (s3 = await startS3Server()));
  afterAll(() => s3.close());
  beforeEach(() => {
    layout = makeLayout('offsite-http');
    seedEventsDb(layout.dbPath, 30);
  });
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.close()));
    layout.remove();
  });

  it('GET /backups shows local, offsite and both; a wrong key is 503 ENCRYPTION_KEY_MISMATCH, nothing changed', async () => {
    const bucket = newBucketName('http');
    const env = s3.env(bucket, { S3_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    const agent = await start(env);
    const a = (await agent.http().post('/backups').set(auth).expect(201)).body;
    await until(async () => (await agent.http().get(`/backups/${a.id}`)).body.location === 'both');
    expect((await agent.http().get(`/backups/${a.id}`)).body).toMatchObject({
      location: 'both',
      offsite: { state: 'uploaded', uploaded_at: expect.any(String) },
    });
    expect((await agent.http().get('/ready').expect(200)).body.offsite).toMatchObject({
      status: 'ok',
      location: `s3://${bucket}/`,
      encrypted: true,
      pending_uploads: 0,
      error: null,
    });
    const text = (await agent.http().get('/metrics').expect(200)).text;
    expect(text).toMatch(/^pra_offsite_enabled 1$/m);
    expect(text).toMatch(/^pra_offsite_backups 1$/m);
    expect(text).toMatch(/^pra_offsite_uploads_total 1$/m);
    await agents.splice(agents.indexOf(agent), 1)[0].close();

    // The local copy is gone (only offsite now), and another agent has the wrong key.
    await agent.agent.local.remove(a.id);
    const wrong = await start({ ...s3.env(bucket, { S3_ENCRYPTION_KEY: randomBytes(32).toString('hex') }) });
    expect((await wrong.http().get('/backups').expect(200)).body).toEqual([
      expect.objectContaining({ id: a.id, location: 'offsite', rows: 30, offsite: { state: 'uploaded' } }),
    ]);
    const liveBefore = await sha256File(layout.dbPath);
    const res = await wrong.http().post(`/restore/${a.id}?from=s3`).set(auth).expect(503);
    expect(res.body).toMatchObject({
      code: 'ENCRYPTION_KEY_MISMATCH',
      message: expect.stringMatching(/S3_ENCRYPTION_KEY/),
    });
    expect(await sha256File(layout.dbPath)).toBe(liveBefore);
    expect((await wrong.http().get('/backups').expect(200)).body).toHaveLength(1); // no safety snapshot either

    // With the right key it restores (and the restore's safety snapshot goes offsite too).
    const right = await start(env);
    seedEventsDb(layout.dbPath, 5);
    const done = (await right.http().post(`/restore/${a.id}?from=s3`).set(auth).expect(200)).body;
    expect(done).toMatchObject({ rows_before: 35, rows_after: 30, restored: { id: a.id, from: 's3' } });
    await until(
      async () => (await right.http().get(`/backups/${done.safety_snapshot}`)).body.location === 'both',
    );
  });

  it('both volumes lost and an empty database started: no empty backup (409) until the bucket is restored', async () => {
    const { rmSync } = await import('node:fs');
    const env = s3.env(newBucketName('loss'));
    const agent = await start(env);
    const a = (await agent.http().post('/backups').set(auth).expect(201)).body;
    await until(async () => (await agent.http().get(`/backups/${a.id}`)).body.location === 'both');
    await agents.splice(agents.indexOf(agent), 1)[0].close();

    // Both volumes are gone; the API started on a new, empty database.
    rmSync(layout.backupDir, { recursive: true, force: true });
    rmSync(layout.dbPath);
    seedEventsDb(layout.dbPath, 0);
    const again = await start(env);
    const refused = await again.http().post('/backups').set(auth).expect(409);
    expect(refused.body).toMatchObject({ code: 'DATA_LOSS_SUSPECTED' });
    expect(refused.body.message).toMatch(/restore first/);
    expect((await again.http().get('/backups').expect(200)).body.map((b: { id: string }) => b.id)).toEqual([
      a.id,
    ]);

    const done = (await again.http().post('/restore/latest?from=s3').set(auth).expect(200)).body;
    expect(done).toMatchObject({ rows_after: 30, restored: { id: a.id } });
    expect((await again.http().post('/backups').set(auth).expect(201)).body.rows).toBe(30);
  });

  it('offsite off: ?from=s3 is 404 saying so; /ready and /metrics say off', async () => {
    const agent = await start({});
    const a = (await agent.http().post('/backups').set(auth).expect(201)).body;
    const res = await agent.http().post(`/restore/${a.id}?from=s3`).set(auth).expect(404);
    expect(res.body.message).toMatch(/offsite copies are not configured \(S3_BUCKET\)/);
    expect((await agent.http().get('/ready').expect(200)).body.offsite).toBeNull();
    expect((await agent.http().get('/metrics').expect(200)).text).toMatch(/^pra_offsite_enabled 0$/m);
    expect((await agent.http().get('/backups').expect(200)).body[0]).toMatchObject({
      location: 'local',
      offsite: null,
    });
  });

  it('S3 unreachable: backups still 201, the catalog shows them failed or pending, /ready 200 "failing"', async () => {
    const agent = await start({
      ...s3.env(newBucketName('down'), { S3_ENDPOINT: 'http://127.0.0.1:9' }),
      BACKUP_OFFSITE_RETRY_BASE_MS: '50',
      BACKUP_OFFSITE_RETRY_MAX_MS: '200',
    });
    const a = (await agent.http().post('/backups').set(auth).expect(201)).body;
    await until(async () => (await agent.http().get('/ready')).body.offsite.status === 'failing');
    const ready = (await agent.http().get('/ready').expect(200)).body;
    expect(ready.offsite.error).toMatchObject({
      code: 'OFFSITE_UNAVAILABLE',
      message: expect.stringMatching(/127\.0\.0\.1:9/),
    });
    expect((await agent.http().get(`/backups/${a.id}`).expect(200)).body).toMatchObject({
      location: 'local',
      offsite: { state: expect.stringMatching(/^(pending|failed)$/), attempts: expect.any(Number) },
    });
    const restore = await agent.http().post(`/restore/${a.id}?from=s3`).set(auth).expect(503);
    expect(restore.body.code).toBe('OFFSITE_UNAVAILABLE');
  });
});
