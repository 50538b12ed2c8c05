export * from './lib/backup-id';
export * from './lib/backup-manifest';
export * from './lib/backup-ref';
export * from './lib/backup-catalog';
export * from './lib/auto-restore-record';
export * from './lib/db-schema';
export * from './lib/env';
export * from './lib/log-format';
