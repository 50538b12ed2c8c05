export * from './temp-dir';
export * from './service-process';
export * from './events-db';
