const CopyPlugin = require('copy-webpack-plugin');
const { join } = require('path');

/**
 * The console: one script, one stylesheet and one page, no framework and nothing from the internet.
 * dist/apps/console/index.html is served by the agent at GET /, dist/apps/console/assets/* at
 * /console/<name>. The agent's image gets the folder beside its main.js (deploy/packer).
 */
module.exports = {
  mode: process.env.NODE_ENV === 'development' ? 'development' : 'production',
  target: ['web', 'es2022'],
  context: __dirname,
  entry: { console: './src/main.ts' },
  output: {
    path: join(__dirname, '../../dist/apps/console'),
    filename: 'assets/[name].js',
    clean: true,
  },
  devtool: 'source-map',
  resolve: { extensions: ['.ts', '.js'] },
  module: {
    rules: [
      {
        test: /\.ts$/,
        loader: 'ts-loader',
        options: { configFile: join(__dirname, 'tsconfig.app.json'), onlyCompileBundledFiles: true },
      },
    ],
  },
  plugins: [
    new CopyPlugin({
      patterns: [
        { from: 'src/index.html', to: 'index.html' },
        { from: 'src/console.css', to: 'assets/console.css' },
        { from: 'src/icon.svg', to: 'assets/icon.svg' },
      ],
    }),
  ],
  performance: { hints: false },
  stats: 'errors-warnings',
};
