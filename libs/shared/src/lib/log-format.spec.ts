import { formatLogLine, jsonLevelOf, Redactor } from './log-format';

describe('log lines', () => {
  const at = new Date('2026-11-30T10:00:00.000Z');
  const none = new Redactor([]);

  it('json: one object per line with time, level, context, message', () => {
    const line = formatLogLine('json', none, { level: 'log', context: 'Main', message: 'hello\nworld', at });
    expect(line).not.toContain('\n');
    expect(JSON.parse(line)).toEqual({
      time: '2026-11-30T10:00:00.000Z',
      level: 'info',
      context: 'Main',
      message: 'hello\nworld',
      pid: process.pid,
    });
    expect(
      JSON.parse(
        formatLogLine('json', none, { level: 'error', message: 'x', stack: 'Error: x\n  at y', at }),
      ),
    ).toMatchObject({ level: 'error', stack: 'Error: x\n  at y' });
  });

  it('text: the CLI lines people read', () => {
    expect(formatLogLine('text', none, { level: 'log', message: 'backup ok', at })).toBe(
      '[2026-11-30T10:00:00.000Z] backup ok',
    );
    expect(formatLogLine('text', none, { level: 'warn', message: 'slow', at })).toBe(
      '[2026-11-30T10:00:00.000Z] WARN slow',
    );
  });

  it.each([
    ['log', 'info'],
    ['verbose', 'debug'],
    ['debug', 'debug'],
    ['warn', 'warn'],
    ['error', 'error'],
    ['fatal', 'fatal'],
  ])('level %s is %s in JSON', (nest, json) => expect(jsonLevelOf(nest)).toBe(json));

  it('redacts every secret, raw and as it appears escaped inside JSON', () => {
    const token = 'tok-"quoted"-0123456789';
    const redactor = new Redactor([token, 'abc', undefined, 'S3CR3T-KEY']);
    const message = `auth ${token} failed; key S3CR3T-KEY and S3CR3T-KEY; abc stays (too short to be a secret)`;
    const text = formatLogLine('text', redactor, { level: 'error', message, at });
    expect(text).toBe(
      '[2026-11-30T10:00:00.000Z] ERROR auth [REDACTED] failed; key [REDACTED] and [REDACTED]; abc stays (too short to be a secret)',
    );
    const json = formatLogLine('json', redactor, { level: 'error', message, stack: `at ${token}`, at });
    expect(json).not.toContain('S3CR3T-KEY');
    expect(json).not.toContain(JSON.stringify(token).slice(1, -1));
    expect(JSON.parse(json)).toMatchObject({
      message: 'auth [REDACTED] failed; key [REDACTED] and [REDACTED]; abc stays (too short to be a secret)',
      stack: 'at [REDACTED]',
    });
  });

  it('reads the secrets from the variables that hold them', () => {
    const redactor = Redactor.fromEnv({
      BACKUP_TOKEN: 'token-0123456789abcdef',
      S3_SECRET_ACCESS_KEY: 'secret-key-value',
      S3_ENCRYPTION_KEY: 'a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleSE=',
      S3_BUCKET: 'pra-backups',
    });
    expect(
      redactor.redact(
        'token-0123456789abcdef secret-key-value a2V5LWtleS1rZXkta2V5LWtleS1rZXkta2V5LWtleSE= pra-backups',
      ),
    ).toBe('[REDACTED] [REDACTED] [REDACTED] pra-backups');
  });
});
