// pra-kit's own rules for the rendered manifests. The names, ports, paths and uid come from
// deploy/k8s/project.json (the runbook and the tests read the same file); the rules check that the
// manifests agree with it, and hold the project's decisions: one writer, the native sidecar, the
// restore Job that never runs beside the API, credentials from generated Secrets.
//
// Each rule has an id (RULES); every result says which rule produced it, and validate.test.mjs
// seeds, for every rule, a mistake that it must report.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe } from './schema.mjs';

export const RULES = {
  names: 'the objects the runbook and the workshop use exist, with the names of project.json',
  namespace: "every namespaced object is in the project's namespace",
  'single-writer':
    'a Deployment on a ReadWriteOnce volume has one replica and strategy Recreate (one SQLite writer)',
  sidecar: 'the agent is a native sidecar running `serve` in sidecar mode, and absent in CronJob mode',
  ports:
    "container ports, their env and the Services agree with project.json; no Service targets a native sidecar's port by name",
  probes: 'the API is ready on /ready and alive on /health, with the tolerance an online restore needs',
  paths: 'DB_PATH and BACKUP_DIR are the volumes behind them; the API mounts the backups read-only',
  images:
    'our images at the expected tag with IfNotPresent (k3d imports them, no registry); every image pinned',
  security:
    'the uid of project.json, non-root, read-only root fs with an emptyDir /tmp, no capabilities, seccomp, no token, no service links, requests and a memory limit',
  references: 'every ConfigMap, Secret, key, claim, volume and Service selector resolves',
  credentials: 'sensitive values come from generated Secrets, never from a manifest',
  cronjob:
    "the CronJob never runs twice at once, runs on the api pod's node, and gives up before its next run",
  'restore-job':
    'the restore Job passes BACKUP_ID and BACKUP_AT as rendered, runs once, never beside a running API',
  offsite: 'the minio overlay: the agent reaches the MinIO Service with the credentials of its Secret',
  'auto-restore':
    'the auto-restore overlay: an ordinary init container runs `restore --auto` before the sidecar, with its image, configuration and volumes',
};

/** Env vars whose value must come from a Secret (never a literal in a manifest). */
export const SENSITIVE_ENV = /(TOKEN|PASSWORD|SECRET|ACCESS_KEY|ENCRYPTION_KEY)/;

export function loadProject(k8sDir) {
  return JSON.parse(readFileSync(path.join(k8sDir, 'project.json'), 'utf8'));
}

class Results {
  constructor() {
    this.items = [];
    this.rule = '';
  }
  expect(ok, label, detail = '') {
    this.items.push({ ok: Boolean(ok), label, detail: ok ? '' : detail, rule: this.rule });
    return Boolean(ok);
  }
}

const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'PersistentVolume',
  'ClusterRole',
  'ClusterRoleBinding',
  'StorageClass',
]);

/** Pod specs of workload objects, with where they come from. */
export function podSpecs(obj) {
  switch (obj.kind) {
    case 'Deployment':
    case 'StatefulSet':
    case 'DaemonSet':
    case 'Job':
      return obj.spec?.template ? [{ owner: obj, template: obj.spec.template }] : [];
    case 'CronJob':
      return obj.spec?.jobTemplate?.spec?.template
        ? [{ owner: obj, template: obj.spec.jobTemplate.spec.template }]
        : [];
    case 'Pod':
      return [{ owner: obj, template: { metadata: obj.metadata, spec: obj.spec } }];
    default:
      return [];
  }
}

export function allContainers(spec) {
  return [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])];
}

const isSidecar = (c) => c.restartPolicy === 'Always';

/** The environment a container sees: envFrom first, then env (which wins), as kubelet does. */
export function resolveEnv(container, objects) {
  const env = {};
  for (const from of container.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = find(objects, 'ConfigMap', from.configMapRef.name);
      for (const [k, v] of Object.entries(cm?.data ?? {})) env[(from.prefix ?? '') + k] = { value: v };
    }
    if (from.secretRef) {
      const s = find(objects, 'Secret', from.secretRef.name);
      for (const k of Object.keys(s?.data ?? {}))
        env[(from.prefix ?? '') + k] = { secret: from.secretRef.name, key: k };
    }
  }
  for (const e of container.env ?? []) {
    if (e.valueFrom?.secretKeyRef)
      env[e.name] = { secret: e.valueFrom.secretKeyRef.name, key: e.valueFrom.secretKeyRef.key };
    else if (e.valueFrom?.configMapKeyRef) {
      const cm = find(objects, 'ConfigMap', e.valueFrom.configMapKeyRef.name);
      env[e.name] = { value: cm?.data?.[e.valueFrom.configMapKeyRef.key] };
    } else env[e.name] = { value: e.value ?? '' };
  }
  return env;
}

function portNumber(container, port) {
  if (typeof port === 'number') return port;
  return (container.ports ?? []).find((p) => p.name === port)?.containerPort;
}

function mountOf(spec, container, mountPath) {
  const mount = (container?.volumeMounts ?? []).find((m) => m.mountPath === mountPath);
  if (!mount) return undefined;
  return { mount, volume: (spec.volumes ?? []).find((v) => v.name === mount.name) };
}

function labelsMatch(selector, labels) {
  return Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
}

function parseImage(image) {
  const at = image.indexOf('@');
  if (at >= 0) return { name: image.slice(0, at), tag: image.slice(at + 1) };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  return colon > slash
    ? { name: image.slice(0, colon), tag: image.slice(colon + 1) }
    : { name: image, tag: '' };
}

const claimOf = (m) => m?.volume?.persistentVolumeClaim?.claimName;
const dirOf = (file) => file.slice(0, file.lastIndexOf('/')) || '/';

// ---------------------------------------------------------------------------------------------

/** Rules that hold for every pod we ship, in every render. */
function checkPods(r, p, render, objects, pvcSource) {
  for (const obj of objects) {
    for (const { owner, template } of podSpecs(obj)) {
      const spec = template.spec ?? {};
      const who = `[${render.name}] ${describe(owner)}`;
      const psc = spec.securityContext ?? {};
      r.rule = 'security';
      r.expect(
        psc.runAsNonRoot === true &&
          psc.runAsUser === p.uid &&
          psc.runAsGroup === p.uid &&
          psc.fsGroup === p.uid,
        `${who}: pod runs as non-root uid/gid ${p.uid} with fsGroup ${p.uid}`,
        `securityContext is ${JSON.stringify(psc)}`,
      );
      r.expect(
        psc.seccompProfile?.type === 'RuntimeDefault',
        `${who}: seccomp RuntimeDefault`,
        'seccompProfile missing',
      );
      r.expect(
        spec.automountServiceAccountToken === false,
        `${who}: no service account token mounted`,
        'set automountServiceAccountToken: false',
      );
      r.expect(
        spec.enableServiceLinks === false,
        `${who}: enableServiceLinks false (Service "api" would inject API_PORT=tcp://...)`,
        'set enableServiceLinks: false',
      );
      const volumeNames = new Set((spec.volumes ?? []).map((v) => v.name));
      r.rule = 'references';
      for (const v of spec.volumes ?? []) {
        if (v.persistentVolumeClaim) {
          r.expect(
            find(pvcSource, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName),
            `${who}: volume ${v.name} claims an existing PVC (${v.persistentVolumeClaim.claimName})`,
            'no such PersistentVolumeClaim in the rendered manifests',
          );
        }
      }
      for (const c of allContainers(spec)) {
        const cwho = `${who} container ${c.name}`;
        const sc = c.securityContext ?? {};
        r.rule = 'security';
        r.expect(
          sc.allowPrivilegeEscalation === false &&
            sc.readOnlyRootFilesystem === true &&
            (sc.capabilities?.drop ?? []).includes('ALL') &&
            !(sc.capabilities?.add ?? []).length &&
            sc.privileged !== true &&
            (sc.runAsUser === undefined || sc.runAsUser === p.uid),
          `${cwho}: read-only root fs, no privilege escalation, all capabilities dropped`,
          `securityContext is ${JSON.stringify(sc)}`,
        );
        r.expect(
          mountOf(spec, c, '/tmp')?.volume?.emptyDir,
          `${cwho}: /tmp is an emptyDir (the root fs is read-only)`,
          'no emptyDir mounted at /tmp',
        );
        const res = c.resources ?? {};
        r.expect(
          res.requests?.cpu !== undefined &&
            res.requests?.memory !== undefined &&
            res.limits?.memory !== undefined,
          `${cwho}: cpu/memory requests and a memory limit`,
          `resources is ${JSON.stringify(res)}`,
        );
        r.rule = 'references';
        for (const m of c.volumeMounts ?? []) {
          r.expect(
            volumeNames.has(m.name),
            `${cwho}: mount ${m.mountPath} uses a declared volume`,
            `no volume named ${m.name}`,
          );
        }
        r.rule = 'images';
        const { name, tag } = parseImage(c.image ?? '');
        r.expect(tag !== '' && tag !== 'latest', `${cwho}: image ${c.image} is pinned`, 'no tag, or :latest');
        if (Object.values(p.images).includes(name)) {
          r.expect(
            c.imagePullPolicy === 'IfNotPresent',
            `${cwho}: imagePullPolicy IfNotPresent (k3d imports the image, there is no registry)`,
            `imagePullPolicy is ${c.imagePullPolicy}`,
          );
          r.expect(
            tag === render.expectedTag,
            `${cwho}: ${name} tag is ${render.expectedTag}`,
            `tag is ${tag}`,
          );
        }
        r.rule = 'references';
        for (const from of c.envFrom ?? []) {
          const [kind, ref] = from.configMapRef
            ? ['ConfigMap', from.configMapRef]
            : ['Secret', from.secretRef];
          r.expect(
            find(objects, kind, ref?.name),
            `${cwho}: envFrom ${kind} ${ref?.name} exists`,
            'not rendered (wrong name or namespace?)',
          );
        }
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.secretKeyRef ?? e.valueFrom?.configMapKeyRef;
          if (ref) {
            const kind = e.valueFrom.secretKeyRef ? 'Secret' : 'ConfigMap';
            const target = find(objects, kind, ref.name);
            r.expect(
              ref.optional === true || (target && ref.key in (target.data ?? {})),
              `${cwho}: env ${e.name} refers to ${kind} ${ref.name} key ${ref.key}, which exists`,
              target ? `no key ${ref.key}` : `no ${kind} ${ref.name}`,
            );
          }
        }
        r.rule = 'credentials';
        for (const [k, v] of Object.entries(resolveEnv(c, objects))) {
          if (SENSITIVE_ENV.test(k))
            r.expect(v.secret, `${cwho}: ${k} comes from a Secret`, 'a literal value, or from a ConfigMap');
        }
      }
    }
  }
}

/** Namespaces; Services reach a pod and a port by number; single writers stay single. */
function checkObjects(r, p, render, objects) {
  r.rule = 'namespace';
  for (const obj of objects.filter((o) => !CLUSTER_SCOPED.has(o.kind))) {
    r.expect(
      obj.metadata?.namespace === p.namespace,
      `[${render.name}] ${describe(obj)}: in namespace ${p.namespace}`,
      `namespace is ${obj.metadata?.namespace}`,
    );
  }
  const templates = objects.flatMap(podSpecs);
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const who = `[${render.name}] ${describe(svc)}`;
    const targets = templates.filter((t) => labelsMatch(svc.spec?.selector, t.template.metadata?.labels));
    r.rule = 'references';
    if (
      !r.expect(
        svc.spec?.selector && targets.length > 0,
        `${who}: selects a pod template`,
        `selector ${JSON.stringify(svc.spec?.selector)} matches nothing`,
      )
    )
      continue;
    const containers = targets.flatMap((t) => allContainers(t.template.spec));
    for (const port of svc.spec?.ports ?? []) {
      const target = port.targetPort ?? port.port;
      r.rule = 'ports';
      const sidecarName =
        typeof target === 'string' && containers.some((c) => isSidecar(c) && portNumber(c, target));
      r.expect(
        !sidecarName && containers.some((c) => portNumber(c, target) !== undefined),
        `${who}: port ${port.port} targets a container port (${target})`,
        sidecarName
          ? "a native sidecar's port by name: Kubernetes before 1.32 leaves it out of the endpoints and kubectl before 1.31 cannot port-forward to it; use the number"
          : 'no container declares that port',
      );
    }
  }
  r.rule = 'single-writer';
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const rwo = (d.spec?.template?.spec?.volumes ?? []).some((v) => {
      const pvc =
        v.persistentVolumeClaim && find(objects, 'PersistentVolumeClaim', v.persistentVolumeClaim.claimName);
      return pvc && (pvc.spec?.accessModes ?? []).includes('ReadWriteOnce');
    });
    if (rwo) {
      r.expect(
        (d.spec.replicas ?? 1) <= 1 && d.spec.strategy?.type === 'Recreate',
        `[${render.name}] ${describe(d)}: one replica and strategy Recreate (ReadWriteOnce volume, one writer)`,
        `replicas ${d.spec.replicas}, strategy ${d.spec.strategy?.type ?? 'RollingUpdate (default)'}`,
      );
    }
  }
}

/** Generated Secrets: every value is one generate-secrets.sh wrote in this run, never one from git. */
function checkSecrets(r, render, objects, generated) {
  r.rule = 'credentials';
  const values = new Set(Object.values(generated).flatMap((f) => Object.values(f)));
  for (const s of objects.filter((o) => o.kind === 'Secret')) {
    const who = `[${render.name}] ${describe(s)}`;
    r.expect(!s.stringData, `${who}: no stringData`, 'stringData in a manifest');
    for (const [k, v] of Object.entries(s.data ?? {})) {
      const decoded = Buffer.from(String(v).replace(/\s/g, ''), 'base64').toString('utf8');
      r.expect(
        values.has(decoded),
        `${who}: ${k} is generated (not a value from git)`,
        'value is not one generate-secrets.sh wrote',
      );
    }
  }
}

/** A container of ours: its DB_PATH and BACKUP_DIR, and the claims mounted there. */
function checkPaths(r, p, who, spec, c, env, { backupReadOnly }) {
  r.rule = 'paths';
  r.expect(
    env.DB_PATH?.value === p.paths.db && env.BACKUP_DIR?.value === p.paths.backupDir,
    `${who}: DB_PATH=${p.paths.db} and BACKUP_DIR=${p.paths.backupDir}`,
    JSON.stringify({ DB_PATH: env.DB_PATH, BACKUP_DIR: env.BACKUP_DIR }),
  );
  const data = mountOf(spec, c, dirOf(p.paths.db));
  r.expect(
    claimOf(data) === p.volumes.data && !data.mount.readOnly,
    `${who}: ${p.volumes.data} mounted read-write at ${dirOf(p.paths.db)}`,
    JSON.stringify(data),
  );
  const backup = mountOf(spec, c, p.paths.backupDir);
  r.expect(
    claimOf(backup) === p.volumes.backup && Boolean(backup.mount.readOnly) === backupReadOnly,
    `${who}: ${p.volumes.backup} mounted ${backupReadOnly ? 'read-only' : 'read-write'} at ${p.paths.backupDir}`,
    JSON.stringify(backup),
  );
}

function checkApi(r, p, render, objects, mode) {
  const pre = `[${render.name}]`;
  r.rule = 'names';
  r.expect(find(objects, 'Namespace', p.namespace), `${pre} Namespace ${p.namespace}`, 'missing');
  for (const claim of [p.volumes.data, p.volumes.backup]) {
    const pvc = find(objects, 'PersistentVolumeClaim', claim);
    r.expect(
      pvc && pvc.spec.accessModes?.includes('ReadWriteOnce'),
      `${pre} PVC ${claim} (ReadWriteOnce)`,
      'missing or not ReadWriteOnce',
    );
  }
  const dep = find(objects, 'Deployment', p.deployment);
  if (!r.expect(dep, `${pre} Deployment ${p.deployment}`, 'missing')) return;
  const who = `${pre} Deployment ${p.deployment}`;
  const spec = dep.spec.template.spec;
  r.expect(
    labelsMatch(p.podLabel, dep.spec.template.metadata?.labels),
    `${who}: pod labelled ${JSON.stringify(p.podLabel)}`,
    'the runbook, the affinity rules and the Services select it by that label',
  );
  r.rule = 'single-writer';
  r.expect(
    dep.spec.replicas === 1 && dep.spec.strategy?.type === 'Recreate',
    `${who}: replicas 1, strategy Recreate (SQLite has one writer)`,
    `replicas ${dep.spec.replicas}, strategy ${dep.spec.strategy?.type}`,
  );

  r.rule = 'names';
  const api = (spec.containers ?? []).find((c) => c.name === p.containers.api);
  if (r.expect(api, `${who}: container ${p.containers.api}`, 'missing')) {
    r.expect(
      parseImage(api.image).name === p.images.api,
      `${who}: ${p.containers.api} runs ${p.images.api}`,
      api.image,
    );
    const env = resolveEnv(api, objects);
    r.rule = 'ports';
    r.expect(
      (api.ports ?? []).some((cp) => cp.containerPort === p.ports.api) &&
        env.API_PORT?.value === String(p.ports.api),
      `${who}: the API listens on ${p.ports.api} (API_PORT) and declares it`,
      `API_PORT ${JSON.stringify(env.API_PORT)}, ports ${JSON.stringify(api.ports)}`,
    );
    r.rule = 'probes';
    const at = (probe, path) =>
      probe?.httpGet?.path === path && portNumber(api, probe.httpGet.port) === p.ports.api;
    r.expect(
      at(api.readinessProbe, '/ready'),
      `${who}: readiness GET /ready :${p.ports.api} (503 while the database is unusable)`,
      JSON.stringify(api.readinessProbe),
    );
    r.expect(
      at(api.livenessProbe, '/health'),
      `${who}: liveness GET /health :${p.ports.api} (never touches the database)`,
      JSON.stringify(api.livenessProbe),
    );
    r.expect(
      at(api.startupProbe, '/health'),
      `${who}: startup GET /health :${p.ports.api} (the runbook waits for it, not for readiness)`,
      JSON.stringify(api.startupProbe),
    );
    const rp = api.readinessProbe ?? {};
    r.expect(
      (rp.timeoutSeconds ?? 1) >= 2 && (rp.periodSeconds ?? 10) * (rp.failureThreshold ?? 3) >= 10,
      `${who}: readiness rides out a 1-2 s online restore (timeout >= 2 s, >= 10 s of failures)`,
      JSON.stringify(rp),
    );
    checkPaths(r, p, `${who}: ${p.containers.api}`, spec, api, env, { backupReadOnly: true });
  }

  const sidecar = (spec.initContainers ?? []).find((c) => c.name === p.containers.agent);
  const agentSvc = find(objects, 'Service', p.services.agent);
  r.rule = 'names';
  const svc = find(objects, 'Service', p.services.api);
  r.expect(
    svc && labelsMatch(svc.spec.selector, dep.spec.template.metadata?.labels),
    `${pre} Service ${p.services.api} selects the api pod`,
    JSON.stringify(svc?.spec),
  );
  r.rule = 'ports';
  r.expect(
    (svc?.spec?.ports ?? []).some((sp) => sp.port === p.ports.service && sp.targetPort === p.ports.api),
    `${pre} Service ${p.services.api} ${p.ports.service} -> ${p.ports.api}`,
    JSON.stringify(svc?.spec?.ports),
  );
  r.rule = 'sidecar';
  if (mode === 'cronjob') {
    r.expect(
      !sidecar,
      `${who}: no agent sidecar in CronJob mode`,
      'the sidecar and the CronJob would both back up',
    );
    r.expect(
      !agentSvc,
      `${pre} no Service ${p.services.agent} in CronJob mode (nothing serves it)`,
      'present',
    );
    return;
  }
  if (!r.expect(sidecar, `${who}: ${p.containers.agent} is an init container (native sidecar)`, 'missing'))
    return;
  r.expect(
    isSidecar(sidecar),
    `${who}: ${p.containers.agent} restartPolicy Always (native sidecar; else it blocks the API forever)`,
    `restartPolicy ${sidecar.restartPolicy}`,
  );
  r.expect(
    parseImage(sidecar.image).name === p.images.agent &&
      (!sidecar.args || JSON.stringify(sidecar.args) === '["serve"]'),
    `${who}: the sidecar runs ${p.images.agent} serve`,
    `${sidecar.image} ${JSON.stringify(sidecar.args)}`,
  );
  const env = resolveEnv(sidecar, objects);
  r.expect(env.BACKUP_SCHEDULE?.value, `${who}: the sidecar has a BACKUP_SCHEDULE`, 'missing');
  r.rule = 'credentials';
  r.expect(
    env.BACKUP_TOKEN?.secret === p.tokenSecret.name && env.BACKUP_TOKEN.key === p.tokenSecret.key,
    `${who}: BACKUP_TOKEN from Secret ${p.tokenSecret.name} (destructive routes authenticated; the runbook reads it there)`,
    JSON.stringify(env.BACKUP_TOKEN),
  );
  r.rule = 'ports';
  r.expect(
    (sidecar.ports ?? []).some((cp) => cp.containerPort === p.ports.agent) &&
      env.AGENT_PORT?.value === String(p.ports.agent),
    `${who}: the agent listens on ${p.ports.agent} (AGENT_PORT) and declares it`,
    `AGENT_PORT ${JSON.stringify(env.AGENT_PORT)}, ports ${JSON.stringify(sidecar.ports)}`,
  );
  r.expect(
    (agentSvc?.spec?.ports ?? []).some(
      (sp) => sp.port === p.ports.service && sp.targetPort === p.ports.agent,
    ),
    `${pre} Service ${p.services.agent} ${p.ports.service} -> ${p.ports.agent}`,
    JSON.stringify(agentSvc?.spec?.ports),
  );
  checkPaths(r, p, `${who}: ${p.containers.agent}`, spec, sidecar, env, { backupReadOnly: false });
}

function affinityToApi(p, terms) {
  return (terms ?? []).some(
    (t) =>
      t.topologyKey === 'kubernetes.io/hostname' &&
      labelsMatch(p.podLabel, t.labelSelector?.matchLabels ?? {}),
  );
}

function checkCronJob(r, p, render, objects) {
  const pre = `[${render.name}] CronJob ${p.cronJob}`;
  r.rule = 'names';
  const cj = find(objects, 'CronJob', p.cronJob);
  if (!r.expect(cj, pre, 'missing')) return;
  const spec = cj.spec.jobTemplate.spec.template.spec;
  const c = spec.containers?.[0];
  r.rule = 'cronjob';
  r.expect(
    cj.spec.concurrencyPolicy === 'Forbid',
    `${pre}: concurrencyPolicy Forbid`,
    cj.spec.concurrencyPolicy,
  );
  r.expect(cj.spec.suspend !== true, `${pre}: not suspended as deployed`, 'suspend: true');
  r.expect(
    parseImage(c?.image ?? '').name === p.images.agent && JSON.stringify(c?.args) === '["backup"]',
    `${pre}: runs the agent's "backup"`,
    `${c?.image} ${JSON.stringify(c?.args)}`,
  );
  r.expect(
    affinityToApi(p, spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    `${pre}: runs on the api pod's node (pod affinity; ${p.volumes.data} is ReadWriteOnce)`,
    JSON.stringify(spec.affinity),
  );
  const deadline = cj.spec.jobTemplate.spec.activeDeadlineSeconds;
  r.expect(
    deadline > 0 && deadline < 60,
    `${pre}: a run that cannot start gives up before the next one`,
    `activeDeadlineSeconds ${deadline}`,
  );
  checkPaths(r, p, pre, spec, c, resolveEnv(c ?? {}, objects), { backupReadOnly: false });
}

function checkOffsite(r, p, render, objects) {
  const pre = `[${render.name}]`;
  r.rule = 'offsite';
  const svc = find(objects, 'Service', 'minio');
  const s3 = svc?.spec?.ports?.find((sp) => sp.name === 's3');
  r.expect(s3, `${pre} Service minio has its S3 port`, JSON.stringify(svc?.spec?.ports));
  const minio = find(objects, 'Deployment', 'minio')?.spec?.template?.spec?.containers?.[0];
  const menv = minio ? resolveEnv(minio, objects) : {};
  r.expect(
    menv.MINIO_ROOT_USER?.secret === 'minio-credentials' &&
      menv.MINIO_ROOT_PASSWORD?.secret === 'minio-credentials',
    `${pre} MinIO's root credentials from the Secret minio-credentials`,
    JSON.stringify(menv),
  );
  const sidecar = find(objects, 'Deployment', p.deployment)?.spec?.template?.spec?.initContainers?.find(
    (c) => c.name === p.containers.agent,
  );
  if (!r.expect(sidecar, `${pre} the agent sidecar uploads the copies`, 'missing')) return;
  const env = resolveEnv(sidecar, objects);
  r.expect(
    s3 && env.S3_ENDPOINT?.value === `http://minio:${s3.port}`,
    `${pre} agent S3_ENDPOINT is the Service minio's S3 port`,
    JSON.stringify(env.S3_ENDPOINT),
  );
  r.expect(
    env.S3_BUCKET?.value && env.S3_FORCE_PATH_STYLE?.value === 'true',
    `${pre} agent S3_BUCKET set, path-style requests (MinIO)`,
    JSON.stringify(env),
  );
  r.expect(
    env.S3_ACCESS_KEY_ID?.secret === 'minio-credentials' &&
      env.S3_SECRET_ACCESS_KEY?.secret === 'minio-credentials',
    `${pre} agent S3 keys from Secret minio-credentials`,
    JSON.stringify({ id: env.S3_ACCESS_KEY_ID, secret: env.S3_SECRET_ACCESS_KEY }),
  );
}

/**
 * The auto-restore overlay: `restore --auto` must finish before the sidecar and the API start (an
 * ordinary init container, listed before the native sidecar), and restore what the sidecar backs
 * up: same image, same configuration (DB_PATH, BACKUP_DIR, S3_*), same volumes.
 */
function checkAutoRestore(r, p, render, objects) {
  const pre = `[${render.name}]`;
  r.rule = 'auto-restore';
  const spec = find(objects, 'Deployment', p.deployment)?.spec?.template?.spec ?? {};
  const inits = spec.initContainers ?? [];
  const at = inits.findIndex((c) => JSON.stringify(c.args) === '["restore","--auto"]');
  const sidecarAt = inits.findIndex((c) => c.name === p.containers.agent);
  if (
    !r.expect(
      at >= 0,
      `${pre} an init container runs restore --auto`,
      JSON.stringify(inits.map((c) => c.args)),
    )
  )
    return;
  const init = inits[at];
  const who = `${pre} init container ${init.name}`;
  r.expect(
    init.restartPolicy === undefined && sidecarAt > at,
    `${who}: an ordinary init container, before the sidecar (it finishes before the agent and the API start)`,
    `at index ${at}, restartPolicy ${init.restartPolicy}, the sidecar at ${sidecarAt}`,
  );
  const sidecar = inits[sidecarAt];
  if (!sidecar) return;
  r.expect(init.image === sidecar.image, `${who}: the sidecar's image`, `${init.image} vs ${sidecar.image}`);
  const env = resolveEnv(init, objects);
  const sidecarEnv = resolveEnv(sidecar, objects);
  const same = ['DB_PATH', 'BACKUP_DIR', 'S3_BUCKET', 'S3_ENDPOINT', 'S3_ENCRYPTION_KEY'].filter(
    (k) => JSON.stringify(env[k]) !== JSON.stringify(sidecarEnv[k]),
  );
  r.expect(
    same.length === 0,
    `${who}: the sidecar's configuration (paths, S3)`,
    `differs: ${same.join(', ')}`,
  );
  checkPaths(r, p, who, spec, init, env, { backupReadOnly: false });
  r.rule = 'auto-restore';
}

function checkRestoreJob(r, p, render, objects) {
  const pre = `[${render.name}] Job ${p.restoreJob}`;
  r.rule = 'names';
  const job = find(objects, 'Job', p.restoreJob);
  if (!r.expect(job, pre, 'missing')) return;
  const spec = job.spec.template.spec;
  const c = spec.containers?.[0] ?? {};
  const env = resolveEnv(c, objects);
  r.rule = 'restore-job';
  r.expect(
    JSON.stringify(c.args) ===
      JSON.stringify(['restore', '--offline', '--id', '$(BACKUP_ID)', '--at', '$(BACKUP_AT)']) &&
      parseImage(c.image ?? '').name === p.images.agent,
    `${pre}: runs ${p.images.agent} restore --offline --id $(BACKUP_ID) --at $(BACKUP_AT)`,
    `${c.image} ${JSON.stringify(c.args)}`,
  );
  const { id = '', at = '' } = render.point ?? {};
  r.expect(
    env.BACKUP_ID?.value === id && env.BACKUP_AT?.value === at,
    `${pre}: BACKUP_ID="${id}" BACKUP_AT="${at}"${id || at ? '' : ' (the newest point)'}`,
    JSON.stringify({ BACKUP_ID: env.BACKUP_ID, BACKUP_AT: env.BACKUP_AT }),
  );
  r.expect(
    spec.restartPolicy === 'Never' && job.spec.backoffLimit === 0,
    `${pre}: runs once (restartPolicy Never, backoffLimit 0)`,
    '',
  );
  r.expect(
    job.spec.activeDeadlineSeconds > 0,
    `${pre}: has a deadline (the runbook waits for it, plus a minute)`,
    'no activeDeadlineSeconds',
  );
  r.expect(
    affinityToApi(p, spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    `${pre}: never beside a running API (anti-affinity: offline restore only when scaled to 0)`,
    JSON.stringify(spec.affinity),
  );
  checkPaths(r, p, pre, spec, c, env, { backupReadOnly: false });
}

/**
 * renders: from render.mjs. context: { generated, expectedTag, project }. Returns the results.
 */
export function check(renders, { generated, expectedTag, project: p }) {
  const r = new Results();
  const base = renders.find((x) => x.name === 'base');
  r.rule = 'names';
  r.expect(base, 'base renders', 'no base');
  for (const render of renders) {
    render.expectedTag = expectedTag;
    const objects = render.objects;
    r.rule = 'names';
    r.expect(objects.length > 0, `[${render.name}] renders objects`, 'empty');
    if (render.type === 'kustomization') {
      const mode = find(objects, 'CronJob', p.cronJob) ? 'cronjob' : 'sidecar';
      checkApi(r, p, render, objects, mode);
      if (mode === 'cronjob') checkCronJob(r, p, render, objects);
      if (find(objects, 'Deployment', 'minio') || render.name.endsWith('/minio'))
        checkOffsite(r, p, render, objects);
      const inits = find(objects, 'Deployment', p.deployment)?.spec?.template?.spec?.initContainers ?? [];
      if (render.name.endsWith('/auto-restore') || inits.some((c) => (c.args ?? []).includes('--auto')))
        checkAutoRestore(r, p, render, objects);
      checkPods(r, p, render, objects, objects);
      checkObjects(r, p, render, objects);
      checkSecrets(r, render, objects, generated);
    } else {
      if (objects.some((o) => o.metadata?.name === p.restoreJob)) checkRestoreJob(r, p, render, objects);
      // Jobs use the volumes the base creates.
      checkPods(r, p, render, objects, base?.objects ?? []);
      checkObjects(r, p, render, objects);
      r.rule = 'credentials';
      r.expect(
        !objects.some((o) => o.kind === 'Secret'),
        `[${render.name}] no Secret in a plain file`,
        'credentials belong to the generated Secrets',
      );
    }
  }
  return r.items;
}
