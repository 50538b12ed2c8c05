import { renameSync } from 'node:fs';
import { startTestApi, TestApi } from './support/test-api';

/** Bad input gets a JSON error with a code and a 4xx; nothing is stored; the app keeps serving. */
describe('API errors', () => {
  let api: TestApi;
  beforeEach(async () => (api = await startTestApi({ env: { MAX_MESSAGE_LENGTH: '10' } })));
  afterEach(() => api.close());

  const expectCount = async (n: number) =>
    expect((await api.http().get('/count').expect(200)).body).toEqual({ count: n });

  it('413 names the limit for a message over MAX_MESSAGE_LENGTH, counting characters not bytes', async () => {
    const res = await api
      .http()
      .get('/add')
      .query({ message: 'x'.repeat(11) })
      .expect(413);
    expect(res.body).toEqual({
      statusCode: 413,
      error: 'Payload Too Large',
      code: 'MESSAGE_TOO_LONG',
      message: 'message is longer than 10 characters (MAX_MESSAGE_LENGTH)',
    });
    await api
      .http()
      .post('/messages')
      .send({ message: 'y'.repeat(11) })
      .expect(413);
    await api
      .http()
      .get('/add')
      .query({ message: 'é'.repeat(10) })
      .expect(200);
    await api
      .http()
      .get('/add')
      .query({ message: '🎉'.repeat(10) })
      .expect(200);
    await expectCount(2);
  });

  it.each(['0', '501', '-1', 'ten', '1.5', '1e2', ''])('400 for /consultation?limit=%s', async (limit) => {
    const res = await api
      .http()
      .get(`/consultation?limit=${encodeURIComponent(limit)}`)
      .expect(400);
    expect(res.body).toMatchObject({ statusCode: 400, code: 'INVALID_LIMIT' });
    expect(res.body.message).toContain('from 1 to 500');
  });

  it('400 for a repeated message parameter, and for bodies without a string message', async () => {
    expect((await api.http().get('/add?message=a&message=b').expect(400)).body.code).toBe('INVALID_MESSAGE');
    for (const body of [{}, { message: 42 }, { message: ['a'] }, { msg: 'x' }]) {
      expect((await api.http().post('/messages').send(body).expect(400)).body.code).toBe('INVALID_MESSAGE');
    }
    await expectCount(0);
  });

  it('400 JSON for malformed JSON, 413 for an oversized body', async () => {
    const bad = await api
      .http()
      .post('/messages')
      .set('content-type', 'application/json')
      .send('{"message":')
      .expect(400);
    expect(bad.body).toMatchObject({ statusCode: 400, code: 'BAD_REQUEST' });
    const huge = await api
      .http()
      .post('/messages')
      .set('content-type', 'application/json')
      .send(JSON.stringify({ message: 'z'.repeat(200_000) }))
      .expect(413);
    expect(huge.body).toMatchObject({ statusCode: 413, code: 'PAYLOAD_TOO_LARGE' });
    await expectCount(0);
  });

  it('404 JSON for unknown routes and methods, without stack traces', async () => {
    for (const [method, path] of [
      ['get', '/nope'],
      ['get', '/add/../../etc/passwd'],
      ['delete', '/count'],
    ] as const) {
      const res = await api.http()[method](path).expect(404);
      expect(res.body).toMatchObject({ statusCode: 404, code: 'NOT_FOUND' });
      expect(JSON.stringify(res.body)).not.toMatch(/\bat .+\.(js|ts):\d+/);
    }
    await api.http().get('/health').expect(200);
  });

  it('503 with a clear code while the database file is gone, and recovers when it is back', async () => {
    const db = api.config.dbPath;
    await api.http().get('/add').query({ message: 'before' }).expect(200);

    renameSync(db, `${db}.away`); // the data volume is gone
    const res = await api.http().get('/add').query({ message: 'lost' }).expect(503);
    expect(res.body).toMatchObject({ statusCode: 503, code: 'DATABASE_MISSING' });
    expect(res.body.message).toContain('restore a backup');
    expect((await api.http().get('/ready').expect(503)).body.code).toBe('DATABASE_MISSING');
    await api.http().get('/health').expect(200);

    renameSync(`${db}.away`, db); // a restore put it back
    await api.http().get('/ready').expect(200);
    await api.http().get('/add').query({ message: 'after' }).expect(200);
    const messages = (await api.http().get('/consultation').expect(200)).body.map(
      (e: { message: string }) => e.message,
    );
    expect(messages).toEqual(['after', 'before']);
  });
});
