module.exports = require('../../tools/build/app-webpack.config.js')('backup-agent');
