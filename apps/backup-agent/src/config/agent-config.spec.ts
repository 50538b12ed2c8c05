import { ConfigError } from '@pra-kit/shared';
import { parseAgentConfig } from './agent-config';

describe('parseAgentConfig', () => {
  it('has the cluster defaults (README, Configuration)', () => {
    expect(parseAgentConfig({})).toEqual({
      dbPath: '/data/app.db',
      backupDir: '/backup',
      port: 8081,
      host: '0.0.0.0',
      schedule: '0 0 * * * *', // hourly snapshots: with replication they are only starting points
      verify: 'quick',
      token: undefined,
      retention: { keepLast: 30, hourly: 24, daily: 7, weekly: 4 },
      backupOnStart: false, // the first chain's base snapshot is the backup taken at start
      autoRestore: 'off',
      restoreTestSchedule: '0 30 3 * * *',
      logLevel: 'log',
      logFormat: 'text',
      offsite: null, // S3_BUCKET unset: offsite copies off
      consoleDir: undefined, // found beside main.js or in dist/apps/console
      drillReportsDir: undefined, // GET /drills lists nothing
      replication: { enabled: true, syncIntervalMs: 1000, windowMs: 24 * 3_600_000 },
      rpoObjectiveSeconds: 1,
      minFree: { percent: 10 },
    });
  });

  it('without replication: a snapshot every minute, one at start, a 60 s RPO objective', () => {
    expect(parseAgentConfig({ BACKUP_REPLICATION: 'off' })).toMatchObject({
      schedule: '0 * * * * *',
      backupOnStart: true,
      replication: { enabled: false },
      rpoObjectiveSeconds: 60,
    });
  });

  it('reads durations with a unit, or plain seconds, and refuses others naming the variable', () => {
    expect(
      parseAgentConfig({
        BACKUP_SYNC_INTERVAL: '250ms',
        BACKUP_PITR_WINDOW: '7d',
        BACKUP_RPO_OBJECTIVE: '90',
      }),
    ).toMatchObject({
      replication: { syncIntervalMs: 250, windowMs: 7 * 86_400_000 },
      rpoObjectiveSeconds: 90,
    });
    expect(parseAgentConfig({ BACKUP_SYNC_INTERVAL: '1.5s' }).replication.syncIntervalMs).toBe(1500);
    expect(() => parseAgentConfig({ BACKUP_SYNC_INTERVAL: 'soon' })).toThrow(
      /BACKUP_SYNC_INTERVAL must be a duration/,
    );
    expect(() => parseAgentConfig({ BACKUP_SYNC_INTERVAL: '10ms' })).toThrow(/between 100ms and 10m/);
    expect(parseAgentConfig({ BACKUP_MIN_FREE: '64MiB' }).minFree).toEqual({ bytes: 64 * 1024 * 1024 });
    expect(() => parseAgentConfig({ BACKUP_MIN_FREE: 'half' })).toThrow(/BACKUP_MIN_FREE must be a share/);
    expect(() => parseAgentConfig({ BACKUP_REPLICATION: 'maybe' })).toThrow(
      /BACKUP_REPLICATION must be one of on, off/,
    );
  });

  it('reads every variable', () => {
    const config = parseAgentConfig({
      DB_PATH: 'var/data/app.db',
      BACKUP_DIR: 'var/backup',
      AGENT_PORT: '18081',
      AGENT_HOST: '127.0.0.1',
      BACKUP_SCHEDULE: '*/10 * * * * *',
      BACKUP_VERIFY: 'full',
      BACKUP_TOKEN: 's3cr3t-s3cr3t-s3cr3t',
      BACKUP_KEEP_LAST: '5',
      BACKUP_KEEP_HOURLY: '0',
      BACKUP_KEEP_DAILY: '3',
      BACKUP_KEEP_WEEKLY: '2',
      BACKUP_ON_START: 'false',
      BACKUP_AUTO_RESTORE: 'latest',
      BACKUP_VERIFY_RESTORE_SCHEDULE: '0 0 * * * *',
      LOG_LEVEL: 'debug',
      CONSOLE_DIR: '/srv/console',
      DRILL_REPORTS_DIR: 'var/drills',
      LOG_FORMAT: 'json',
    });
    expect(config).toEqual({
      dbPath: 'var/data/app.db',
      backupDir: 'var/backup',
      port: 18081,
      host: '127.0.0.1',
      schedule: '*/10 * * * * *',
      verify: 'full',
      token: 's3cr3t-s3cr3t-s3cr3t',
      retention: { keepLast: 5, hourly: 0, daily: 3, weekly: 2 },
      backupOnStart: false,
      autoRestore: 'latest',
      restoreTestSchedule: '0 0 * * * *',
      logLevel: 'debug',
      logFormat: 'json',
      offsite: null,
      consoleDir: '/srv/console',
      drillReportsDir: 'var/drills',
      replication: { enabled: true, syncIntervalMs: 1000, windowMs: 24 * 3_600_000 },
      rpoObjectiveSeconds: 1,
      minFree: { percent: 10 },
    });
  });

  const key = Buffer.alloc(32, 7);
  const minio = {
    S3_ENDPOINT: 'http://minio:9000/',
    S3_BUCKET: 'pra-backups',
    S3_ACCESS_KEY_ID: 'minio-user',
    S3_SECRET_ACCESS_KEY: 'minio-secret-123',
    S3_FORCE_PATH_STYLE: 'true',
  };

  it('offsite: on with S3_BUCKET, with the defaults (longer offsite retention, bucket created)', () => {
    expect(parseAgentConfig({ S3_BUCKET: 'pra-backups' }).offsite).toEqual({
      s3: {
        region: 'us-east-1',
        bucket: 'pra-backups',
        prefix: '',
        forcePathStyle: false,
        createBucket: true,
        encryptionKey: null,
      },
      retention: { keepLast: 48, hourly: 48, daily: 30, weekly: 12 },
      retryBaseMs: 1000,
      retryMaxMs: 300_000,
      waitSeconds: 120,
      syncIntervalMs: 10_000,
    });
  });

  it('offsite: reads every S3_* and BACKUP_OFFSITE_* variable', () => {
    expect(
      parseAgentConfig({
        ...minio,
        S3_REGION: 'eu-west-3',
        S3_PREFIX: 'clusters/k3d',
        S3_CREATE_BUCKET: 'false',
        S3_ENCRYPTION_KEY: key.toString('base64'),
        BACKUP_OFFSITE_KEEP_LAST: '100',
        BACKUP_OFFSITE_KEEP_HOURLY: '72',
        BACKUP_OFFSITE_KEEP_DAILY: '60',
        BACKUP_OFFSITE_KEEP_WEEKLY: '52',
        BACKUP_OFFSITE_RETRY_BASE_MS: '200',
        BACKUP_OFFSITE_RETRY_MAX_MS: '2000',
        BACKUP_OFFSITE_WAIT_SECONDS: '30',
        S3_SYNC_INTERVAL: '2s',
      }).offsite,
    ).toEqual({
      s3: {
        endpoint: 'http://minio:9000',
        region: 'eu-west-3',
        bucket: 'pra-backups',
        prefix: 'clusters/k3d/',
        accessKeyId: 'minio-user',
        secretAccessKey: 'minio-secret-123',
        forcePathStyle: true,
        createBucket: false,
        encryptionKey: key,
      },
      retention: { keepLast: 100, hourly: 72, daily: 60, weekly: 52 },
      retryBaseMs: 200,
      retryMaxMs: 2000,
      waitSeconds: 30,
      syncIntervalMs: 2000,
    });
    // Down to 1 s, not below (a pass is several requests).
    expect(() => parseAgentConfig({ ...minio, S3_SYNC_INTERVAL: '500ms' })).toThrow(/S3_SYNC_INTERVAL/);
    // The key may also be given as 64 hex characters.
    expect(
      parseAgentConfig({ ...minio, S3_ENCRYPTION_KEY: key.toString('hex') }).offsite?.s3.encryptionKey,
    ).toEqual(key);
  });

  it.each([
    ['S3_BUCKET', 'Pra_Backups'],
    ['S3_BUCKET', 'ab'],
    ['S3_ENDPOINT', 'minio:9000'],
    ['S3_ENDPOINT', 'ftp://minio'],
    ['S3_REGION', 'EU West'],
    ['S3_PREFIX', '/abs'],
    ['S3_PREFIX', 'a/../b'],
    ['S3_FORCE_PATH_STYLE', 'maybe'],
    ['S3_CREATE_BUCKET', 'sometimes'],
    ['S3_ENCRYPTION_KEY', 'correct horse battery staple'],
    ['S3_ENCRYPTION_KEY', Buffer.alloc(16).toString('base64')],
    ['S3_ENCRYPTION_KEY', 'ab'.repeat(31)],
    ['BACKUP_OFFSITE_KEEP_LAST', '0'],
    ['BACKUP_OFFSITE_KEEP_WEEKLY', '-2'],
    ['BACKUP_OFFSITE_RETRY_MAX_MS', '500'],
    ['BACKUP_OFFSITE_WAIT_SECONDS', 'soon'],
  ])('offsite: rejects %s=%j with a message naming it', (name, value) => {
    const parse = () => parseAgentConfig({ ...minio, [name]: value });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(new RegExp(`^invalid configuration: ${name} `));
  });

  it('offsite: credentials go in pairs; a bad key is refused without echoing it', () => {
    expect(() => parseAgentConfig({ S3_BUCKET: 'pra-backups', S3_ACCESS_KEY_ID: 'id-only' })).toThrow(
      /^invalid configuration: S3_SECRET_ACCESS_KEY must be set with the other S3 credential/,
    );
    expect(() => parseAgentConfig({ S3_BUCKET: 'pra-backups', S3_SECRET_ACCESS_KEY: 'secret-only' })).toThrow(
      /^invalid configuration: S3_ACCESS_KEY_ID /,
    );
    const secret = 'not-a-key-but-a-secret-anyway';
    expect(() => parseAgentConfig({ ...minio, S3_ENCRYPTION_KEY: secret })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(secret) }),
    );
    // Credentials inside the endpoint would be shown by /ready and in every S3 error: refused, not echoed.
    const password = 'endpoint-password-123';
    expect(() => parseAgentConfig({ ...minio, S3_ENDPOINT: `http://user:${password}@minio:9000` })).toThrow(
      expect.objectContaining({
        message: expect.stringMatching(/^invalid configuration: S3_ENDPOINT must not contain credentials/),
      }),
    );
    expect(() => parseAgentConfig({ ...minio, S3_ENDPOINT: `http://user:${password}@minio:9000` })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining(password) }),
    );
    // Offsite variables without S3_BUCKET are not an error: offsite stays off.
    expect(parseAgentConfig({ S3_ENDPOINT: 'http://minio:9000' }).offsite).toBeNull();
  });

  it('turns the restore test off with BACKUP_VERIFY_RESTORE_SCHEDULE=off', () => {
    expect(parseAgentConfig({ BACKUP_VERIFY_RESTORE_SCHEDULE: 'off' }).restoreTestSchedule).toBeNull();
  });

  it.each([
    ['BACKUP_SCHEDULE', 'every minute'],
    ['BACKUP_SCHEDULE', '61 * * * *'],
    ['BACKUP_VERIFY', 'none'],
    ['BACKUP_TOKEN', 'short'],
    ['BACKUP_KEEP_LAST', '0'],
    ['BACKUP_KEEP_DAILY', '-1'],
    ['AGENT_PORT', 'x'],
    ['LOG_FORMAT', 'yaml'],
    ['BACKUP_AUTO_RESTORE', 'oldest'],
    ['BACKUP_VERIFY_RESTORE_SCHEDULE', 'daily'],
    ['BACKUP_VERIFY_RESTORE_SCHEDULE', '0 99 * * *'],
  ])('rejects %s=%j with a message naming it', (name, value) => {
    const parse = () => parseAgentConfig({ [name]: value });
    expect(parse).toThrow(ConfigError);
    expect(parse).toThrow(new RegExp(`^invalid configuration: ${name} `));
  });
});
