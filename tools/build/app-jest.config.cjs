/** The Jest config of every app: unit tests beside the code, HTTP and process tests in test/. */
module.exports = function appJestConfig(app, { testTimeout = 60000 } = {}) {
  return {
    displayName: app,
    preset: '../../jest.preset.js',
    testEnvironment: 'node',
    transform: {
      '^.+\\.[tj]s$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.spec.json' }],
    },
    testMatch: ['<rootDir>/src/**/*.spec.ts', '<rootDir>/test/**/*.e2e-spec.ts'],
    moduleFileExtensions: ['ts', 'js'],
    coverageDirectory: `../../coverage/apps/${app}`,
    testTimeout,
  };
};
