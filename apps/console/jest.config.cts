// The browser test starts a real API, a real agent and Chromium: give it time on 2 shared cores.
module.exports = require('../../tools/build/app-jest.config.cjs')('console', { testTimeout: 120000 });
