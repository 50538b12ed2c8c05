// Renders deploy/k8s offline, the way a user applies it: generate-secrets.sh, then
// `kubectl kustomize` for the base and every overlay, plus the restore Job as the runbook renders
// it for each kind of restore point: the file as it is (the newest point), and
// `kubectl set env --local ... BACKUP_ID=...` or `... BACKUP_AT=...`.
//
// Everything runs in a temporary copy of deploy/k8s without the user's generated secret files, so
// validation never reads nor writes real credentials and also tests generate-secrets.sh itself.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';

/** The restore points the restore Job is rendered for (empty = the newest point). */
export const EXAMPLE_POINTS = [
  { id: '', at: '' },
  { id: 'app-1772098321', at: '' },
  { id: '', at: '2026-11-30T10:41:07Z' },
];

/** Parses a multi-document YAML string into plain objects (empty documents dropped). */
export function parseManifests(text, source) {
  const objects = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      throw new Error(`${source}: YAML error: ${doc.errors[0].message}`);
    }
    const value = doc.toJS();
    if (value !== null && value !== undefined) objects.push(value);
  }
  return objects;
}

export function run(cmd, args, options = {}) {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...options });
  } catch (err) {
    const stderr = err.stderr ? String(err.stderr).trim() : '';
    throw new Error(`${cmd} ${args.join(' ')} failed: ${stderr || err.message}`);
  }
}

/** Copies deploy/k8s into a fresh temporary directory, leaving out generated *.env files. */
export function copyTree(k8sDir) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'pra-k8s-validate-'));
  const dest = path.join(tmp, 'k8s');
  cpSync(k8sDir, dest, {
    recursive: true,
    filter: (src) => !(statSync(src).isFile() && src.endsWith('.env')),
  });
  return { root: dest, cleanup: () => rmSync(tmp, { recursive: true, force: true }) };
}

/** Runs generate-secrets.sh in the copy; returns its output and the env files it wrote. */
export function generateSecrets(root) {
  const output = run('bash', [path.join(root, 'generate-secrets.sh')]);
  return { output, files: readEnvFiles(root) };
}

/** Every *.env file under root, parsed (KEY=value lines), keyed by path relative to root. */
export function readEnvFiles(root) {
  const files = {};
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.env')) {
        const values = {};
        for (const line of readFileSync(full, 'utf8').split('\n')) {
          const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
          if (m) values[m[1]] = m[2];
        }
        files[path.relative(root, full)] = values;
      }
    }
  };
  walk(root);
  return files;
}

/** Kustomization directories: base and every overlay (discovered, so a new one is validated too). */
export function kustomizations(root) {
  const dirs = ['base'];
  const overlays = path.join(root, 'overlays');
  if (existsSync(overlays)) {
    for (const entry of readdirSync(overlays, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      if (entry.isDirectory() && existsSync(path.join(overlays, entry.name, 'kustomization.yaml'))) {
        dirs.push(`overlays/${entry.name}`);
      }
    }
  }
  return dirs;
}

/**
 * Renders everything. Returns [{ name, kind: 'kustomization'|'job', objects }].
 * kubectl must be on PATH (its built-in kustomize; no cluster needed).
 */
export function renderAll(root, kubectl = 'kubectl') {
  const renders = [];
  for (const dir of kustomizations(root)) {
    const text = run(kubectl, ['kustomize', path.join(root, dir)]);
    renders.push({ name: dir, type: 'kustomization', objects: parseManifests(text, dir) });
  }
  const jobsDir = path.join(root, 'jobs');
  if (existsSync(jobsDir)) {
    for (const file of readdirSync(jobsDir)
      .filter((f) => /\.ya?ml$/.test(f))
      .sort()) {
      const full = path.join(jobsDir, file);
      const name = `jobs/${file}`;
      if (file !== 'restore.yaml') {
        renders.push({ name, type: 'job', objects: parseManifests(readFileSync(full, 'utf8'), name) });
        continue;
      }
      // As tools/k8s/workshop.sh renders it: `set env --local` prints nothing when no value
      // changes, so the newest point is the file as it is.
      for (const point of EXAMPLE_POINTS) {
        const sets = [
          ...(point.id ? [`BACKUP_ID=${point.id}`] : []),
          ...(point.at ? [`BACKUP_AT=${point.at}`] : []),
        ];
        const text = sets.length
          ? run(kubectl, ['set', 'env', '--local', '-o', 'yaml', '-f', full, ...sets])
          : readFileSync(full, 'utf8');
        renders.push({
          name: sets.length ? `${name} (${sets.join(' ')})` : name,
          type: 'job',
          point,
          objects: parseManifests(text, name),
        });
      }
    }
  }
  return renders;
}
