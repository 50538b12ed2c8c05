import { makeTempDir, seedEventsDb } from '@pra-kit/shared/testing';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Layout, makeLayout, startTestAgent } from './support/agent-harness';

const TOKEN = 'test-token-0123456789abcdef';
const SVG = '<svg xmlns="http://www.w3.org/2000/svg"><text>FAULT</text></svg>\n';

/** A console folder as `nx build console` writes it: index.html and a flat assets/ folder. */
function writeConsole(dir: string): void {
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>pra-kit console</title>');
  writeFileSync(join(dir, 'assets', 'console.js'), 'console.log("console");');
  writeFileSync(join(dir, 'assets', 'console.css'), 'body { margin: 0 }');
  writeFileSync(join(dir, 'assets', 'notes.txt'), 'not an asset type the agent serves');
}

/** A drill report with the fields apps/drill writes (report/drill-report.ts). */
function report(startedAt: string, over: Record<string, unknown> = {}): string {
  return JSON.stringify({
    run_id: startedAt,
    scenario: 'data-loss',
    kind: 'PRA',
    summary: 'the data volume is destroyed while writing',
    target: 'local',
    target_description: 'a private local instance',
    started_at: startedAt,
    fault_at: startedAt,
    fault: 'rm -rf data',
    rto_read_ms: 1000,
    rto_write_ms: 950,
    rpo_ms: 310,
    writes: {
      rate_per_second: 25,
      attempted: 173,
      acknowledged: 150,
      failed: {},
      lost: 7,
      lost_after_fault: 0,
      lost_examples: [],
    },
    checks: [],
    objectives: { rtoSeconds: 30, missed: [] },
    passed: true,
    timeline: [],
    ...over,
  });
}

describe('the console and the drill reports, on the agent port', () => {
  let layout: Layout;
  const consoleDir = makeTempDir('console-build');
  const drills = makeTempDir('drill-reports');
  let agent: Awaited<ReturnType<typeof startTestAgent>>;

  beforeAll(async () => {
    writeConsole(consoleDir.path);
    writeFileSync(
      join(drills.path, '20261130-104834-pod-loss-local.json'),
      report('2026-11-30T10:48:34.000Z', { scenario: 'pod-loss', kind: 'PCA' }),
    );
    writeFileSync(
      join(drills.path, '20261130-121502-data-loss-podman.json'),
      report('2026-11-30T12:15:02.000Z', { target: 'podman', passed: false }),
    );
    writeFileSync(join(drills.path, '20261130-121502-data-loss-podman.md'), '# the Markdown report');
    writeFileSync(join(drills.path, '20261130-121502-data-loss-podman.svg'), SVG);
    symlinkSync('/etc/passwd', join(drills.path, '20261130-104834-pod-loss-local.svg'));
    writeFileSync(join(drills.path, '20261130-130000-data-loss-local.json'), '{"run_id": "half writt');
    writeFileSync(join(drills.path, 'notes.json'), report('2026-11-30T13:00:00.000Z'));
    symlinkSync('/etc/passwd', join(drills.path, '20261130-140000-data-loss-local.json'));
    layout = makeLayout('agent-console');
    seedEventsDb(layout.dbPath, 3);
    agent = await startTestAgent(layout, {
      BACKUP_TOKEN: TOKEN,
      CONSOLE_DIR: consoleDir.path,
      DRILL_REPORTS_DIR: drills.path,
    });
  });
  afterAll(async () => {
    await agent.close();
    layout.remove();
    consoleDir.remove();
    drills.remove();
  });

  it('GET / is the console, with a CSP that allows only its own origin and no inline code', async () => {
    const res = await agent.http().get('/').expect(200);
    expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(res.text).toContain('<title>pra-kit console</title>');
    const csp = res.headers['content-security-policy'];
    expect(csp).toMatch(/(^|; )default-src 'none'(;|$)/);
    expect(csp).toMatch(/(^|; )script-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|; )style-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|; )connect-src 'self'(;|$)/);
    expect(csp).toMatch(/(^|; )frame-ancestors 'none'(;|$)/);
    expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['referrer-policy']).toBe('no-referrer');
  });

  it('serves its assets under /console/, and nothing else', async () => {
    const js = await agent.http().get('/console/console.js').expect(200);
    expect(js.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(js.text).toBe('console.log("console");');
    expect(js.headers['content-security-policy']).toContain("default-src 'none'");
    expect((await agent.http().get('/console/console.css').expect(200)).headers['content-type']).toBe(
      'text/css; charset=utf-8',
    );
    for (const path of [
      '/console/notes.txt', // a file of the folder, of a type the console does not have
      '/console/index.html', // the page is at /
      '/console/..%2findex.html',
      '/console/%2e%2e%2f%2e%2e%2fetc%2fpasswd',
      '/console/missing.js',
    ]) {
      const res = await agent.http().get(path).expect(404);
      expect(res.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        code: expect.stringMatching(/^NOT_FOUND$/),
        message: expect.any(String),
      });
    }
    await agent.http().get('/console/../../etc/passwd').expect(404);
  });

  it('reads the console with the same rules as the JSON routes: open to read, changes need the token', async () => {
    await agent.http().get('/').expect(200);
    await agent.http().post('/backups').expect(401);
    expect((await agent.http().post('/').expect(404)).body.code).toBe('NOT_FOUND');
  });

  it('GET /drills lists the reports the drill wrote, newest first, and nothing else of the folder', async () => {
    const list = (await agent.http().get('/drills').expect(200)).body;
    expect(list).toEqual([
      {
        name: '20261130-121502-data-loss-podman',
        run_id: '2026-11-30T12:15:02.000Z',
        scenario: 'data-loss',
        kind: 'PRA',
        target: 'podman',
        started_at: '2026-11-30T12:15:02.000Z',
        fault_at: '2026-11-30T12:15:02.000Z',
        passed: false,
        rto_read_ms: 1000,
        rto_write_ms: 950,
        rpo_ms: 310,
        writes: { acknowledged: 150, lost: 7, attempted: 173 },
        objectives: { rtoSeconds: 30, missed: [] },
        timeline_svg: true,
      },
      expect.objectContaining({ name: '20261130-104834-pod-loss-local', scenario: 'pod-loss', passed: true }),
    ]);
  });

  it('GET /drills/<name>/timeline.svg is the SVG the drill wrote, and only that', async () => {
    const res = await agent.http().get('/drills/20261130-121502-data-loss-podman/timeline.svg').expect(200);
    expect(res.headers['content-type']).toBe('image/svg+xml');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'");
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(String(res.body)).toBe(SVG);
    // A symlink out of the folder, a report without SVG: not found. A name that is not one: 400.
    for (const name of ['20261130-104834-pod-loss-local', '20261130-130000-data-loss-local']) {
      expect((await agent.http().get(`/drills/${name}/timeline.svg`).expect(404)).body.code).toBe(
        'DRILL_NOT_FOUND',
      );
    }
    for (const name of [
      '..%2f..%2fetc%2fpasswd',
      '%2e%2e',
      'notes',
      '20261130-121502-data-loss-podman.svg',
    ]) {
      const refused = (await agent.http().get(`/drills/${name}/timeline.svg`).expect(400)).body;
      expect(refused).toMatchObject({ statusCode: 400, code: 'INVALID_DRILL_NAME' });
      expect(refused.message).toMatch(/is not a drill name: it looks like 20261130-104834-data-loss-local/);
    }
  });
});

describe('the agent without a built console or drill reports', () => {
  it('says how to build the console, and lists no drill', async () => {
    const layout = makeLayout('agent-no-console');
    const empty = makeTempDir('console-empty');
    seedEventsDb(layout.dbPath, 1);
    const agent = await startTestAgent(layout, { CONSOLE_DIR: empty.path });
    try {
      const res = await agent.http().get('/').expect(404);
      expect(res.body).toMatchObject({ code: 'CONSOLE_NOT_BUILT' });
      expect(res.body.message).toContain(`CONSOLE_DIR=${empty.path} holds no index.html`);
      expect((await agent.http().get('/drills').expect(200)).body).toEqual([]);
      await agent.http().get('/drills/20261130-121502-data-loss-local/timeline.svg').expect(404);
      // The rest of the agent does not depend on the console.
      await agent.http().get('/backups').expect(200);
    } finally {
      await agent.close();
      layout.remove();
      empty.remove();
    }
  });
});
