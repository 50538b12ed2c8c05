export * from './error-body';
export * from './json-error.filter';
export * from './http-metrics';
export * from './http-app';
export * from './metrics.controller';
export * from './app-logger';
export * from './request-context';
