#!/usr/bin/env node
// Offline validation of deploy/k8s (no cluster needed):
//   1. render the base, every overlay and the restore Job as a user would (generate-secrets.sh,
//      kubectl kustomize, kubectl set env --local);
//   2. validate every object against the Kubernetes schemas (kubernetes-models: JSON Schema, then
//      the TypeScript types for unknown fields);
//   3. pra-kit's rules (rules.mjs), with the names, ports and uid of deploy/k8s/project.json;
//   4. credentials: generated, random, gitignored, never in a tracked manifest;
//   5. yamllint on deploy/.
// Usage: node tools/k8s-validate/validate.mjs [--k8s-dir DIR] [--tag 1.0] [--no-yamllint] [--verbose]
// Prints failures and a closing "N passed, N failed" line; exits 1 when anything failed.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { copyTree, generateSecrets, parseManifests, readEnvFiles, renderAll, run } from './render.mjs';
import { check, loadProject } from './rules.mjs';
import { describe, schemaValidate, strictTypeCheck } from './schema.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
export const REPO = path.resolve(HERE, '../..');

/** Runs every check on a deploy/k8s directory. Returns [{ ok, label, detail }]. */
export async function validate({
  k8sDir = path.join(REPO, 'deploy/k8s'),
  tag = '1.0',
  kubectl = 'kubectl',
  repoChecks = true,
} = {}) {
  const results = [];
  const add = (ok, label, detail = '') => results.push({ ok: Boolean(ok), label, detail: ok ? '' : detail });

  // Credentials: generate-secrets.sh in two fresh copies. Idempotent, random, long enough.
  const copy = copyTree(k8sDir);
  const other = copyTree(k8sDir);
  try {
    const first = generateSecrets(copy.root);
    add(Object.keys(first.files).length > 0, 'generate-secrets.sh writes the credential files', first.output);
    const again = run('bash', [path.join(copy.root, 'generate-secrets.sh')]);
    add(
      again.trim() === '' && JSON.stringify(readEnvFiles(copy.root)) === JSON.stringify(first.files),
      'generate-secrets.sh is idempotent (never overwrites a credential)',
      again,
    );
    const second = generateSecrets(other.root);
    for (const [file, values] of Object.entries(first.files)) {
      for (const [key, value] of Object.entries(values)) {
        if (!/USER$/.test(key)) {
          // the agent refuses a BACKUP_TOKEN shorter than 16 characters
          add(value.length >= 16, `${file} ${key} is at least 16 characters`, `${value.length} characters`);
          add(
            second.files[file]?.[key] !== value,
            `${file} ${key} is random (differs between two runs)`,
            'same value twice',
          );
        }
      }
    }

    // Render and validate.
    const renders = renderAll(copy.root, kubectl);
    // One pass over all objects of all renders (one TypeScript program is much faster than six).
    const all = renders.flatMap((render) => render.objects.map((obj) => ({ render, obj })));
    const objects = all.map(({ obj }) => asServerReads(obj));
    const schema = await schemaValidate(objects);
    const strict = strictTypeCheck(objects);
    all.forEach(({ render, obj }, i) => {
      const errors = [...schema[i].errors, ...strict[i].errors];
      add(
        errors.length === 0,
        `[${render.name}] ${describe(obj)} matches the Kubernetes schema`,
        errors.join('; '),
      );
    });
    results.push(
      ...check(renders, { generated: first.files, expectedTag: tag, project: loadProject(copy.root) }),
    );
  } finally {
    copy.cleanup();
    other.cleanup();
  }

  if (repoChecks) results.push(...checkRepository(k8sDir));
  return results;
}

/**
 * Two artifacts of kubectl's output that the API server reads fine but the schemas reject:
 * `creationTimestamp: null` (from `kubectl set env --local`) and base64 folded over several lines
 * (kustomize folds long Secret values; Go's base64 decoder ignores newlines).
 */
export function asServerReads(obj) {
  const copy = structuredClone(obj);
  const dropNullTimestamp = (meta) => {
    if (meta && meta.creationTimestamp === null) delete meta.creationTimestamp;
  };
  dropNullTimestamp(copy.metadata);
  dropNullTimestamp(copy.spec?.template?.metadata);
  dropNullTimestamp(copy.spec?.jobTemplate?.metadata);
  dropNullTimestamp(copy.spec?.jobTemplate?.spec?.template?.metadata);
  if (copy.kind === 'Secret' && copy.data) {
    for (const k of Object.keys(copy.data)) copy.data[k] = String(copy.data[k]).replace(/[\r\n]/g, '');
  }
  return copy;
}

/** Tracked files: no Secret with data in git; generated credential files are gitignored. */
export function checkRepository(k8sDir) {
  const results = [];
  const add = (ok, label, detail = '') => results.push({ ok: Boolean(ok), label, detail: ok ? '' : detail });
  let tracked;
  try {
    tracked = execFileSync('git', ['ls-files', '-z', '--', '.'], { cwd: k8sDir, encoding: 'utf8' })
      .split('\0')
      .filter(Boolean);
  } catch {
    add(true, 'not a git checkout: tracked-file checks skipped');
    return results;
  }
  for (const file of tracked) {
    if (file.endsWith('.env')) add(false, `no credential file tracked`, `${file} is in git`);
    if (!/\.ya?ml$/.test(file)) continue;
    let objects = [];
    try {
      objects = parseManifests(readFileSync(path.join(k8sDir, file), 'utf8'), file);
    } catch (err) {
      add(false, `${file} parses`, err.message);
    }
    for (const o of objects) {
      if (o?.kind === 'Secret')
        add(
          !o.data && !o.stringData,
          `${file}: ${describe(o)} carries no value in git`,
          'data or stringData in a tracked file',
        );
    }
  }
  add(tracked.length > 0, 'deploy/k8s is tracked', 'no tracked files');
  for (const file of ['base/secrets/backup-token.env', 'overlays/minio/secrets/minio.env']) {
    let ignored = false;
    try {
      execFileSync('git', ['check-ignore', '-q', '--no-index', file], { cwd: k8sDir });
      ignored = true;
    } catch {
      ignored = false;
    }
    add(ignored, `deploy/k8s/${file} is gitignored`, 'a generated credential could be committed');
  }
  return results;
}

export function yamllint(dirs, config = path.join(HERE, 'yamllint.yaml')) {
  const existing = dirs.filter((d) => existsSync(d));
  try {
    execFileSync('yamllint', ['-c', config, '-f', 'parsable', '--strict', ...existing], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return [
      { ok: true, label: `yamllint ${existing.map((d) => path.relative(REPO, d)).join(' ')}`, detail: '' },
    ];
  } catch (err) {
    if (err.code === 'ENOENT') {
      return [
        {
          ok: false,
          label: 'yamllint is installed',
          detail: 'apt-get install yamllint (tools/k8s-validate/run.sh does it)',
        },
      ];
    }
    const lines = String(err.stdout ?? err.message)
      .trim()
      .split('\n');
    return lines.map((l) => ({ ok: false, label: 'yamllint', detail: path.relative(REPO, l) }));
  }
}

async function main() {
  const { values } = parseArgs({
    options: {
      'k8s-dir': { type: 'string', default: path.join(REPO, 'deploy/k8s') },
      tag: { type: 'string', default: process.env.TAG || '1.0' },
      kubectl: { type: 'string', default: process.env.KUBECTL || 'kubectl' },
      'no-yamllint': { type: 'boolean', default: false },
      verbose: { type: 'boolean', short: 'v', default: false },
    },
  });
  let results;
  try {
    results = await validate({
      k8sDir: path.resolve(values['k8s-dir']),
      tag: values.tag,
      kubectl: values.kubectl,
    });
  } catch (err) {
    console.error(`k8s-validate: ${err.message}`);
    console.log('0 passed, 1 failed');
    process.exit(1);
  }
  if (!values['no-yamllint'])
    results.push(...yamllint([path.join(REPO, 'deploy/k8s'), path.join(REPO, 'deploy/ansible')]));

  const groups = new Map();
  for (const r of results) {
    const group = /^\[([^\]]+)\]/.exec(r.label)?.[1] ?? 'repository';
    const g = groups.get(group) ?? { passed: 0, failed: [] };
    if (r.ok) g.passed++;
    else g.failed.push(r);
    groups.set(group, g);
    if (values.verbose) console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.label}${r.ok ? '' : `: ${r.detail}`}`);
  }
  if (!values.verbose) {
    for (const [group, g] of groups) {
      console.log(
        `${g.failed.length ? 'FAIL' : 'ok  '} ${group}: ${g.passed} checks passed${g.failed.length ? `, ${g.failed.length} failed` : ''}`,
      );
      for (const f of g.failed) console.log(`     - ${f.label}: ${f.detail}`);
    }
  }
  const failed = results.filter((r) => !r.ok).length;
  console.log(`${results.length - failed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await main();
}
