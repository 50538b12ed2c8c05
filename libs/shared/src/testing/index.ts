export * from './temp-dir';
export * from './service-process';
