import { existsSync, lstatSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The built console (apps/console): `index.html` and a flat `assets/` folder. It is read once into
 * memory (about 200 KB); a request names an asset that must be one of the files listed then, so
 * no path from a request ever reaches the filesystem.
 */
export interface ConsoleFile {
  readonly body: Buffer;
  readonly type: string;
}

export interface ConsoleFiles {
  readonly dir: string;
  readonly index: ConsoleFile;
  readonly assets: ReadonlyMap<string, ConsoleFile>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.map': 'application/json; charset=utf-8',
  '.png': 'image/png',
};

/** An asset name: letters, digits, `.`, `_`, `-`, and a known extension; never a path. */
export const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}$/;

function typeOf(name: string): string | undefined {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? TYPES[name.slice(dot)] : undefined;
}

/**
 * Where the console may be, in order: CONSOLE_DIR alone when it is set; else beside the agent's
 * main.js (the image: /app/console), dist/apps/console beside dist/apps/backup-agent (make dev),
 * and the repository's dist/apps/console (tests running the agent from its sources).
 */
export function consoleCandidates(configured: string | undefined, mainDir: string = __dirname): string[] {
  if (configured !== undefined) return [configured];
  const candidates = [join(mainDir, 'console'), join(mainDir, '..', 'console')];
  for (let dir = mainDir; dirname(dir) !== dir; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) {
      candidates.push(join(dir, 'dist', 'apps', 'console'));
      break;
    }
  }
  return candidates;
}

/** The first candidate holding an index.html, read into memory; null when none does. */
export function loadConsoleFiles(candidates: readonly string[]): ConsoleFiles | null {
  const dir = candidates.find((d) => isFile(join(d, 'index.html')));
  if (!dir) return null;
  const assets = new Map<string, ConsoleFile>();
  const assetDir = join(dir, 'assets');
  const names = existsSync(assetDir) ? readdirSync(assetDir) : [];
  for (const name of names) {
    const type = typeOf(name);
    const path = join(assetDir, name);
    if (ASSET_NAME.test(name) && type && isFile(path)) assets.set(name, { body: readFileSync(path), type });
  }
  return { dir, index: { body: readFileSync(join(dir, 'index.html')), type: TYPES['.html'] }, assets };
}

function isFile(path: string): boolean {
  try {
    return lstatSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The console's headers: a Content-Security-Policy that allows only this origin's own script,
 * styles, images and API (no inline script or style, no frame, nothing from elsewhere), and no
 * caching of a page that changes with every build.
 */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};
