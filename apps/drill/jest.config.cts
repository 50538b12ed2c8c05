module.exports = require('../../tools/build/app-jest.config.cjs')('drill', { testTimeout: 180000 });
