import { builtEntry, seedEventsDb } from '@pra-kit/shared/testing';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Layout, makeLayout, startAgentProcess, startApiProcess } from './support/agent-harness';
import { newBucketName, S3TestServer, startS3Server } from './support/s3-server';

interface LogLine {
  time: string;
  level: string;
  context?: string;
  message: string;
  request_id?: string;
  stack?: string;
}

/** Every line of `output` as a JSON log record; fails on a line that is not one. */
function parseLines(output: string): LogLine[] {
  return output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((line) => {
      let record: LogLine;
      try {
        record = JSON.parse(line) as LogLine;
      } catch {
        throw new Error(`not a JSON log line: ${line}`);
      }
      expect(record).toEqual(
        expect.objectContaining({
          time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          level: expect.stringMatching(/^(debug|info|warn|error|fatal)$/),
          message: expect.any(String),
        }),
      );
      return record;
    });
}

/**
 * LOG_FORMAT=json with real processes: one JSON object per line, a request id on what is logged
 * while serving a request, and no secret in the output, whatever goes wrong. The agent is driven
 * into failures on purpose (wrong tokens, an S3 server refusing its credentials, a restore from
 * that bucket, the token typed into a URL), by HTTP and by its one-shot commands.
 */
describe('logs (LOG_FORMAT=json, real processes)', () => {
  let s3: S3TestServer;
  let layout: Layout;
  const TOKEN = `log-token-${randomBytes(12).toString('hex')}`;
  const S3_SECRET = `log-s3-secret-${randomBytes(12).toString('hex')}`;
  const KEY = randomBytes(32);
  const secrets = [
    TOKEN,
    S3_SECRET,
    KEY.toString('base64'),
    KEY.toString('base64').replace(/=+$/, ''),
    KEY.toString('hex'),
  ];

  beforeAll(async () => (s3 = await startS3Server()));
  afterAll(() => s3.close());
  beforeEach(() => {
    layout = makeLayout('logs');
    seedEventsDb(layout.dbPath, 40, 'logs');
  });
  afterEach(() => layout.remove());

  const expectNoSecret = (output: string) => {
    for (const secret of secrets)
      expect({ leaked: output.includes(secret), secret }).toEqual({ leaked: false, secret });
  };

  /** The agent's S3 settings: a bucket that refuses the access key, a secret key, an encryption key. */
  const s3Env = (bucket: string) =>
    s3.env(bucket, {
      S3_ACCESS_KEY_ID: 'WRONG-KEY',
      S3_SECRET_ACCESS_KEY: S3_SECRET,
      S3_ENCRYPTION_KEY: KEY.toString('base64'),
      BACKUP_OFFSITE_RETRY_BASE_MS: '50',
      BACKUP_OFFSITE_RETRY_MAX_MS: '200',
      BACKUP_OFFSITE_WAIT_SECONDS: '1',
    });

  it('the serving agent: JSON lines, request ids, and no token or S3 secret even in its errors', async () => {
    const agent = await startAgentProcess(layout, {
      ...s3Env(newBucketName('logs')),
      BACKUP_TOKEN: TOKEN,
      LOG_FORMAT: 'json',
      LOG_LEVEL: 'debug',
    });
    const ids: string[] = [];
    const call = async (method: string, path: string, headers: Record<string, string> = {}) => {
      const res = await fetch(`${agent.baseUrl}${path}`, { method, headers });
      const id = res.headers.get('x-request-id');
      expect(id).toEqual(expect.any(String));
      ids.push(id as string);
      return { status: res.status, id: id as string, body: await res.text() };
    };
    const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
    try {
      expect((await call('POST', '/backups')).status).toBe(401);
      expect((await call('POST', '/backups', bearer(`${TOKEN}x`))).status).toBe(401);
      expect((await call('POST', '/backups', bearer(TOKEN))).status).toBe(201); // its upload is refused
      const refused = await call('POST', '/restore/latest?from=s3', {
        ...bearer(TOKEN),
        'x-request-id': 'drill-run-42',
      });
      expect(refused).toMatchObject({ status: 503, id: 'drill-run-42' });
      expect(JSON.parse(refused.body)).toMatchObject({ code: 'OFFSITE_ACCESS_DENIED' });
      // A client's id that is not a plain token is replaced, never copied into the log.
      const odd = await call('GET', '/backups', { 'x-request-id': 'a b {"level":"fatal"}' });
      expect(odd.id).toMatch(/^[0-9a-f-]{36}$/);
      // The token typed where an id goes, or as a path: refused, and logged redacted at most.
      expect((await call('POST', `/restore/${TOKEN}`, bearer(TOKEN))).status).toBe(400);
      expect((await call('GET', `/${TOKEN}`)).status).toBe(404);
      await new Promise((r) => setTimeout(r, 1500)); // the upload's retries log their failures
    } finally {
      await agent.stop();
    }

    const output = agent.output();
    expectNoSecret(output);
    const lines = parseLines(output);
    // What went wrong is in the log, in words: the bucket refused the credentials.
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        context: 'Offsite',
        message: expect.stringMatching(/offsite copies failed: .*access denied/),
      }),
    );
    // The refused restore, logged with the id the client gave.
    expect(lines).toContainEqual(
      expect.objectContaining({
        context: 'HttpError',
        request_id: 'drill-run-42',
        message: expect.stringMatching(/^OFFSITE_ACCESS_DENIED: /),
      }),
    );
    // One access line per request (LOG_LEVEL=debug), each with the id its response carried.
    // (The harness polled /health while the agent started.)
    const access = lines.filter((l) => l.context === 'Http' && !l.message.startsWith('GET /health '));
    expect(access.map((l) => l.request_id).sort()).toEqual([...ids].sort());
    expect(access.map((l) => l.message)).toContainEqual(
      expect.stringMatching(/^GET \/\[REDACTED\] 404 \d+ ms$/),
    );
    // Lines outside any request have no request id.
    expect(lines.find((l) => l.context === 'Main')).toEqual(
      expect.not.objectContaining({ request_id: expect.anything() }),
    );
  });

  it('the one-shot commands: JSON lines on stderr, the result on stdout, no secret', () => {
    const env = {
      PATH: process.env['PATH'] ?? '',
      DB_PATH: layout.dbPath,
      BACKUP_DIR: layout.backupDir,
      BACKUP_TOKEN: TOKEN,
      ...s3Env(newBucketName('logs-cli')),
    };
    const run = (extra: Record<string, string>, ...args: string[]) =>
      spawnSync(process.execPath, [builtEntry('backup-agent'), ...args], {
        env: { ...env, ...extra },
        encoding: 'utf8',
      });

    const backup = run({ LOG_FORMAT: 'json' }, 'backup');
    expect(backup.status).toBe(6); // taken locally; the bucket refused the copy
    expect(backup.stdout).toMatch(/^backup app-\d+ ok: 40 rows/);
    const backupLines = parseLines(backup.stderr);
    expect(backupLines).toContainEqual(
      expect.objectContaining({
        level: 'error',
        context: 'backup-agent backup',
        message: expect.stringMatching(/offsite copy of app-\d+ NOT done/),
      }),
    );

    const restore = run({ LOG_FORMAT: 'json' }, 'restore', '--latest', '--from', 's3');
    expect(restore.status).toBe(1);
    expect(parseLines(restore.stderr)).toContainEqual(
      expect.objectContaining({ level: 'error', message: expect.stringMatching(/access denied/) }),
    );

    // The restore's result is one JSON line with LOG_FORMAT=json.
    const local = run({ LOG_FORMAT: 'json' }, 'restore', '--latest', '--dry-run');
    expect(local.status).toBe(0);
    expect(local.stdout.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(local.stdout)).toMatchObject({ dry_run: true, restored: { rows: 40 } });

    // Text format: the same redaction.
    const text = run({ LOG_FORMAT: 'text' }, 'backup');
    expect(text.status).toBe(6);
    expect(text.stderr).toMatch(/NOT done/);
    for (const r of [backup, restore, local, text]) expectNoSecret(r.stdout + r.stderr);
  });

  it('the API: JSON lines, and its errors carry the request id it echoes', async () => {
    const api = await startApiProcess(layout, { LOG_FORMAT: 'json' });
    let id: string | null;
    try {
      // A missing database is a 503, logged as a warning (a 4xx is the client's, not logged).
      rmSync(layout.dbPath);
      const res = await fetch(`${api.baseUrl}/add?message=x`, { headers: { 'x-request-id': 'api-req-7' } });
      expect(res.status).toBe(503);
      id = res.headers.get('x-request-id');
    } finally {
      await api.stop();
    }
    expect(id).toBe('api-req-7');
    const lines = parseLines(api.output());
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        request_id: 'api-req-7',
        message: expect.stringMatching(/^DATABASE_MISSING: /),
      }),
    );
  });
});
