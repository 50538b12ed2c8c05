// The validator's own tests: the real deploy/k8s passes, and each seeded mistake in a copy of it is
// reported (a validator that never fails proves nothing). Run: node --test tools/k8s-validate/
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { REPO, validate } from './validate.mjs';

const K8S = path.join(REPO, 'deploy/k8s');
const temps = [];
after(() => temps.forEach((t) => rmSync(t, { recursive: true, force: true })));

/** A copy of deploy/k8s with one file edited; `edit` must change the file. */
function mutated(file, edit) {
  const tmp = mkdtempSync(path.join(tmpdir(), 'pra-k8s-mutant-'));
  temps.push(tmp);
  const root = path.join(tmp, 'k8s');
  cpSync(K8S, root, { recursive: true, filter: (src) => !(statSync(src).isFile() && src.endsWith('.env')) });
  const full = path.join(root, file);
  const before = readFileSync(full, 'utf8');
  const after = edit(before);
  assert.notEqual(after, before, `the mutation of ${file} changed nothing`);
  writeFileSync(full, after);
  return root;
}

async function failures(k8sDir) {
  const results = await validate({ k8sDir, repoChecks: false });
  return results.filter((r) => !r.ok).map((r) => `${r.label}: ${r.detail}`);
}

function assertReported(failed, pattern) {
  assert.ok(
    failed.some((f) => pattern.test(f)),
    `expected a failure matching ${pattern}, got:\n  ${failed.join('\n  ') || '(none)'}`,
  );
}

test('the real manifests pass every check', async () => {
  const results = await validate({ k8sDir: K8S });
  const failed = results.filter((r) => !r.ok);
  assert.deepEqual(failed, []);
  assert.ok(results.length > 300, `only ${results.length} checks ran`);
});

describe('seeded mistakes are reported', () => {
  const cases = [
    {
      what: 'a rolling update of the single SQLite writer',
      file: 'base/deployment.yaml',
      edit: (s) => s.replace('type: Recreate', 'type: RollingUpdate'),
      expect: [/Deployment api: strategy Recreate/, /one replica and strategy Recreate/],
    },
    {
      what: 'a misspelt field (the API server would drop it silently)',
      file: 'base/deployment.yaml',
      edit: (s) => s.replace('          readinessProbe:', '          readinessprobe:'),
      expect: [
        /Deployment pra\/api matches the Kubernetes schema: .*readinessprobe/,
        /api readiness GET \/ready/,
      ],
    },
    {
      what: 'a value of the wrong type',
      file: 'base/deployment.yaml',
      edit: (s) => s.replace('containerPort: 8080', 'containerPort: "8080"'),
      expect: [/Deployment pra\/api matches the Kubernetes schema: .*containerPort/],
    },
    {
      what: 'a writable root filesystem',
      file: 'base/deployment.yaml',
      edit: (s) => s.replace('readOnlyRootFilesystem: true', 'readOnlyRootFilesystem: false'),
      expect: [/container backup-agent: read-only root fs/],
    },
    {
      what: 'a sidecar that is a plain init container (it would block the API forever)',
      file: 'base/deployment.yaml',
      edit: (s) => s.replace('          restartPolicy: Always\n', ''),
      expect: [/backup-agent restartPolicy Always/],
    },
    {
      what: 'a hard-coded token',
      file: 'base/deployment.yaml',
      edit: (s) =>
        s.replace(
          /- name: BACKUP_TOKEN\n(\s+)valueFrom:\n\s+secretKeyRef:\n\s+name: pra-backup-token\n\s+key: token/,
          '- name: BACKUP_TOKEN\n$1value: "0123456789abcdef0123"',
        ),
      expect: [/BACKUP_TOKEN comes from a Secret/, /BACKUP_TOKEN from Secret pra-backup-token/],
    },
    {
      what: 'a token generator that always writes the same token',
      file: 'generate-secrets.sh',
      edit: (s) =>
        s.replace(
          `printf 'token=%s\\n' "$(random_hex 32)"`,
          `printf 'token=%s\\n' "0123456789abcdef0123456789abcdef"`,
        ),
      expect: [/token is random/],
    },
    {
      what: 'service links left on (API_PORT=tcp://... in the pods)',
      file: 'base/deployment.yaml',
      edit: (s) => s.replace('enableServiceLinks: false', 'enableServiceLinks: true'),
      expect: [/enableServiceLinks false/],
    },
    {
      what: 'an overlay without the namespace (its CronJob misses the generated ConfigMap)',
      file: 'overlays/cronjob/kustomization.yaml',
      edit: (s) => s.replace('namespace: pra\n', ''),
      expect: [
        /CronJob sqlite-backup container backup: envFrom ConfigMap backup-agent-config exists/,
        /CronJob sqlite-backup: in namespace pra/,
      ],
    },
    {
      what: 'overlapping backups',
      file: 'overlays/cronjob/cronjob.yaml',
      edit: (s) => s.replace('concurrencyPolicy: Forbid', 'concurrencyPolicy: Allow'),
      expect: [/concurrencyPolicy Forbid/],
    },
    {
      what: 'a backup CronJob free to land on another node than the ReadWriteOnce volume',
      file: 'overlays/cronjob/cronjob.yaml',
      edit: (s) => s.replace('podAffinity:', 'podAntiAffinity:'),
      expect: [/runs on the api pod's node/],
    },
    {
      what: 'an offline restore allowed beside a running API',
      file: 'jobs/restore.yaml',
      edit: (s) => s.replace('podAntiAffinity:', 'podAffinity:'),
      expect: [/never beside a running API/],
    },
    {
      what: 'a restore Job on another image tag than the Deployment',
      file: 'jobs/restore.yaml',
      edit: (s) => s.replace('image: pra/backup-agent:1.0', 'image: pra/backup-agent:1.1'),
      expect: [/Job pra\/sqlite-restore container restore: pra\/backup-agent tag is 1.0/],
    },
    {
      what: 'a restore Job that ignores BACKUP_ID',
      file: 'jobs/restore.yaml',
      edit: (s) => s.replace('"--id", "$(BACKUP_ID)"', '"--id", "latest"'),
      expect: [/args restore --offline --id \$\(BACKUP_ID\)/],
    },
    {
      what: 'MinIO credentials written in the manifest',
      file: 'overlays/minio/agent-offsite.yaml',
      edit: (s) =>
        s.replace(
          /- name: S3_SECRET_ACCESS_KEY\n(\s+)valueFrom:\n\s+secretKeyRef:\n\s+name: minio-credentials\n\s+key: MINIO_ROOT_PASSWORD/,
          '- name: S3_SECRET_ACCESS_KEY\n$1value: minio123minio123',
        ),
      expect: [/S3_SECRET_ACCESS_KEY comes from a Secret/, /agent S3 keys from Secret minio-credentials/],
    },
  ];
  for (const c of cases) {
    test(c.what, async () => {
      const failed = await failures(mutated(c.file, c.edit));
      for (const pattern of c.expect) assertReported(failed, pattern);
    });
  }
});
