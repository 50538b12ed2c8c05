import { startTestApi, TestApi } from './support/test-api';

/** Every workshop route, with the JSON shapes the workshop's curl commands expect. */
describe('API routes', () => {
  let api: TestApi;
  beforeEach(async () => (api = await startTestApi()));
  afterEach(() => api.close());

  it('GET / greets like the workshop', async () => {
    const res = await api.http().get('/').expect(200);
    expect(res.body).toEqual({ status: 'Bonjour tout le monde !' });
  });

  it('GET /health is ok and GET /ready names the database', async () => {
    expect((await api.http().get('/health').expect(200)).body).toEqual({ status: 'ok' });
    expect((await api.http().get('/ready').expect(200)).body).toEqual({
      status: 'ready',
      database: api.config.dbPath,
    });
  });

  it('GET /add stores the message, answers after commit, defaults to "hello"', async () => {
    const res = await api.http().get('/add').query({ message: 'test' }).expect(200);
    expect(res.body).toEqual({
      status: 'added',
      id: 1,
      timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      message: 'test',
    });
    expect((await api.http().get('/add').expect(200)).body.message).toBe('hello');
    expect((await api.http().get('/count').expect(200)).body).toEqual({ count: 2 });
  });

  it('POST /messages stores a JSON message with 201', async () => {
    const res = await api.http().post('/messages').send({ message: 'from json' }).expect(201);
    expect(res.body).toMatchObject({ status: 'added', id: 1, message: 'from json' });
    const list = await api.http().get('/consultation').expect(200);
    expect(list.body).toEqual([{ id: 1, timestamp: res.body.timestamp, message: 'from json' }]);
  });

  it('GET /consultation returns the last 50 newest first, ?limit= up to 500', async () => {
    for (let i = 1; i <= 60; i++)
      await api
        .http()
        .get('/add')
        .query({ message: `m${i}` })
        .expect(200);
    const all = (await api.http().get('/consultation').expect(200)).body as { id: number; message: string }[];
    expect(all).toHaveLength(50);
    expect(all[0]).toMatchObject({ id: 60, message: 'm60' });
    expect(all[49]).toMatchObject({ id: 11, message: 'm11' });
    const three = (await api.http().get('/consultation?limit=3').expect(200)).body;
    expect(three.map((e: { message: string }) => e.message)).toEqual(['m60', 'm59', 'm58']);
    expect((await api.http().get('/consultation?limit=500').expect(200)).body).toHaveLength(60);
    const page = (await api.http().get('/consultation?limit=5&before=11').expect(200)).body;
    expect(page.map((e: { id: number }) => e.id)).toEqual([10, 9, 8, 7, 6]);
    expect((await api.http().get('/consultation?before=1').expect(200)).body).toEqual([]);
    expect((await api.http().get('/consultation?before=0').expect(400)).body.code).toBe('INVALID_BEFORE');
  });

  it('stores SQL- and HTML-looking messages verbatim and never executes them', async () => {
    const nasty = [
      "'); DROP TABLE events; --",
      '<script>alert(1)</script>',
      'Robert"); DELETE FROM counters; --',
      'émoji 🎉 and \u0000 nul',
    ];
    for (const message of nasty) {
      await api.http().post('/messages').send({ message }).expect(201);
    }
    await api.http().get('/add').query({ message: nasty[0] }).expect(200);
    const stored = (await api.http().get('/consultation').expect(200)).body.map(
      (e: { message: string }) => e.message,
    );
    expect(stored).toEqual([nasty[0], ...[...nasty].reverse()]);
    expect((await api.http().get('/count').expect(200)).body).toEqual({ count: 5 });
  });

  it('GET /metrics exposes requests, latency, events and db size in Prometheus text', async () => {
    await api.http().get('/add').query({ message: 'x' }).expect(200);
    await api.http().get('/count').expect(200);
    const res = await api.http().get('/metrics').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.text).toMatch(/^http_requests_total\{method="GET",route="\/add",status="200"\} 1$/m);
    expect(res.text).toMatch(/^http_request_duration_seconds_count\{method="GET",route="\/count"\} 1$/m);
    expect(res.text).toMatch(/^pra_api_events 1$/m);
    expect(res.text).toMatch(/^pra_api_events_added_total 1$/m);
    expect(res.text).toMatch(/^pra_api_db_up 1$/m);
    const size = Number(/^pra_api_db_size_bytes (\d+)$/m.exec(res.text)?.[1]);
    expect(size).toBeGreaterThan(4096);
  });
});
