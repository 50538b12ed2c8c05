module.exports = require('../../tools/build/app-jest.config.cjs')('backup-agent');
