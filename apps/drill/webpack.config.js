module.exports = require('../../tools/build/app-webpack.config.js')('drill');
