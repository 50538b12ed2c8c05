import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The repository root: the nearest parent holding nx.json (works from src/ and from dist/). */
export function repoRoot(start: string = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) return process.cwd();
  }
}
