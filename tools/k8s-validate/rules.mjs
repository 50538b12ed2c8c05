// pra-kit's own rules for the rendered manifests: the names the workshop and our scripts rely on,
// the images, probes, the single-writer shape, the security context, references that resolve, and
// credentials that come from generated Secrets, never from git.
//
// Each rule records one result: { ok, label, detail }. `check(renders, context)` returns them all.

import { describe } from './schema.mjs';

export const NAMESPACE = 'pra';
export const UID = 10001;
export const PRA_IMAGES = ['pra/api', 'pra/backup-agent'];
export const API_LABELS = { 'app.kubernetes.io/name': 'api' };
/** Env vars whose value must come from a Secret (never a literal in a manifest). */
export const SENSITIVE_ENV = /(TOKEN|PASSWORD|SECRET|ACCESS_KEY|ENCRYPTION_KEY)/;

class Results {
  constructor() {
    this.items = [];
  }
  expect(ok, label, detail = '') {
    this.items.push({ ok: Boolean(ok), label, detail: ok ? '' : detail });
    return Boolean(ok);
  }
}

const find = (objects, kind, name) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
const NAMESPACED = new Set([
  'ConfigMap',
  'Secret',
  'Service',
  'PersistentVolumeClaim',
  'Deployment',
  'StatefulSet',
  'CronJob',
  'Job',
  'Pod',
  'ServiceAccount',
  'Role',
  'RoleBinding',
  'NetworkPolicy',
  'PodMonitor',
  'PrometheusRule',
  'PodDisruptionBudget',
  'Ingress',
  'ServiceMonitor',
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

/** One check per variable: `env` (from resolveEnv) sets each name of `wanted` to its value. */
function expectEnvValues(r, label, env, wanted) {
  for (const [k, v] of Object.entries(wanted)) {
    r.expect(env[k]?.value === v, `${label} ${k}=${v}`, `got ${JSON.stringify(env[k])}`);
  }
}

function portNumber(container, port) {
  if (typeof port === 'number') return port;
  return (container.ports ?? []).find((p) => p.name === port)?.containerPort;
}

function mountOf(spec, container, mountPath) {
  const mount = (container.volumeMounts ?? []).find((m) => m.mountPath === mountPath);
  if (!mount) return undefined;
  const volume = (spec.volumes ?? []).find((v) => v.name === mount.name);
  return { mount, volume };
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

function parseQuantity(q) {
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T)?$/.exec(String(q));
  if (!m) return NaN;
  const mult =
    { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2]] ?? 1;
  return Number(m[1]) * mult;
}

function podAffinityToApi(terms) {
  return (terms ?? []).some(
    (t) =>
      t.topologyKey === 'kubernetes.io/hostname' &&
      labelsMatch(API_LABELS, t.labelSelector?.matchLabels ?? {}),
  );
}

function probeAt(probe, container, path, port) {
  return probe?.httpGet?.path === path && portNumber(container, probe.httpGet.port) === port;
}

// ---------------------------------------------------------------------------------------------

/** Rules that hold for every pod we ship, in every render. */
function checkPods(r, render, objects, pvcSource) {
  for (const obj of objects) {
    for (const { owner, template } of podSpecs(obj)) {
      const spec = template.spec ?? {};
      const who = `[${render.name}] ${describe(owner)}`;
      const psc = spec.securityContext ?? {};
      r.expect(
        psc.runAsNonRoot === true && psc.runAsUser === UID && psc.runAsGroup === UID && psc.fsGroup === UID,
        `${who}: pod runs as non-root uid/gid ${UID} with fsGroup ${UID}`,
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
        r.expect(
          sc.allowPrivilegeEscalation === false &&
            sc.readOnlyRootFilesystem === true &&
            (sc.capabilities?.drop ?? []).includes('ALL') &&
            !(sc.capabilities?.add ?? []).length &&
            sc.privileged !== true &&
            (sc.runAsUser === undefined || sc.runAsUser === UID),
          `${cwho}: read-only root fs, no privilege escalation, all capabilities dropped`,
          `securityContext is ${JSON.stringify(sc)}`,
        );
        const tmp = mountOf(spec, c, '/tmp');
        r.expect(
          tmp?.volume?.emptyDir,
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
        for (const m of c.volumeMounts ?? []) {
          r.expect(
            volumeNames.has(m.name),
            `${cwho}: mount ${m.mountPath} uses a declared volume`,
            `no volume named ${m.name}`,
          );
        }
        const { name, tag } = parseImage(c.image ?? '');
        r.expect(tag !== '' && tag !== 'latest', `${cwho}: image ${c.image} is pinned`, 'no tag, or :latest');
        if (PRA_IMAGES.includes(name)) {
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
        for (const from of c.envFrom ?? []) {
          if (from.configMapRef) {
            r.expect(
              find(objects, 'ConfigMap', from.configMapRef.name),
              `${cwho}: envFrom ConfigMap ${from.configMapRef.name} exists`,
              'not rendered (wrong name or namespace?)',
            );
          }
          if (from.secretRef) {
            r.expect(
              find(objects, 'Secret', from.secretRef.name),
              `${cwho}: envFrom Secret ${from.secretRef.name} exists`,
              'not rendered',
            );
          }
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
          if (SENSITIVE_ENV.test(e.name)) {
            r.expect(
              e.valueFrom?.secretKeyRef,
              `${cwho}: ${e.name} comes from a Secret`,
              'a literal value in a manifest',
            );
          }
        }
        for (const [k, v] of Object.entries(resolveEnv(c, objects))) {
          if (SENSITIVE_ENV.test(k) && v.value !== undefined) {
            r.expect(false, `${cwho}: ${k} comes from a Secret`, 'set from a ConfigMap or a literal');
          }
        }
      }
    }
  }
}

/** Every object in namespace pra; Services reach a pod and a named port; single writers stay single. */
function checkObjects(r, render, objects) {
  for (const obj of objects) {
    if (NAMESPACED.has(obj.kind)) {
      r.expect(
        obj.metadata?.namespace === NAMESPACE,
        `[${render.name}] ${describe(obj)}: in namespace ${NAMESPACE}`,
        `namespace is ${obj.metadata?.namespace}`,
      );
    }
  }
  const templates = objects.flatMap(podSpecs);
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const who = `[${render.name}] ${describe(svc)}`;
    const targets = templates.filter((t) => labelsMatch(svc.spec?.selector, t.template.metadata?.labels));
    if (
      !r.expect(
        svc.spec?.selector && targets.length > 0,
        `${who}: selects a pod template`,
        `selector ${JSON.stringify(svc.spec?.selector)} matches nothing`,
      )
    )
      continue;
    for (const p of svc.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      const ok =
        typeof target === 'number' ||
        targets.some((t) => allContainers(t.template.spec).some((c) => portNumber(c, target) !== undefined));
      r.expect(
        ok,
        `${who}: port ${p.port} targets an existing container port (${p.targetPort})`,
        'no container port of that name',
      );
    }
  }
  for (const d of objects.filter((o) => o.kind === 'Deployment')) {
    const spec = d.spec?.template?.spec ?? {};
    const rwo = (spec.volumes ?? []).some((v) => {
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

function checkApi(r, render, objects, mode) {
  const pre = `[${render.name}]`;
  r.expect(find(objects, 'Namespace', NAMESPACE), `${pre} Namespace ${NAMESPACE}`, 'missing');
  const data = find(objects, 'PersistentVolumeClaim', 'pra-data');
  const backup = find(objects, 'PersistentVolumeClaim', 'pra-backup');
  r.expect(
    data && data.spec.accessModes?.includes('ReadWriteOnce'),
    `${pre} PVC pra-data (ReadWriteOnce)`,
    'missing or not RWO',
  );
  r.expect(
    backup &&
      backup.spec.accessModes?.includes('ReadWriteOnce') &&
      parseQuantity(backup.spec.resources?.requests?.storage) >= 200 * 2 ** 20,
    `${pre} PVC pra-backup (ReadWriteOnce, at least 200Mi)`,
    `got ${JSON.stringify(backup?.spec)}`,
  );
  const dep = find(objects, 'Deployment', 'api');
  if (!r.expect(dep, `${pre} Deployment api`, 'missing')) return;
  const who = `${pre} Deployment api`;
  const spec = dep.spec.template.spec;
  r.expect(dep.spec.replicas === 1, `${who}: replicas 1`, `replicas ${dep.spec.replicas}`);
  r.expect(
    dep.spec.strategy?.type === 'Recreate',
    `${who}: strategy Recreate (SQLite has one writer)`,
    `strategy ${dep.spec.strategy?.type}`,
  );
  r.expect(
    labelsMatch(API_LABELS, dep.spec.template.metadata?.labels),
    `${who}: pod labelled ${JSON.stringify(API_LABELS)}`,
    'affinity rules and scripts select it by that label',
  );
  const api = (spec.containers ?? []).find((c) => c.name === 'api');
  if (r.expect(api, `${who}: container api`, 'missing')) {
    r.expect(parseImage(api.image).name === 'pra/api', `${who}: api runs pra/api`, api.image);
    r.expect(portNumber(api, 'http') === 8080, `${who}: api port http = 8080`, JSON.stringify(api.ports));
    r.expect(
      probeAt(api.readinessProbe, api, '/ready', 8080),
      `${who}: api readiness GET /ready :8080`,
      JSON.stringify(api.readinessProbe),
    );
    r.expect(
      probeAt(api.livenessProbe, api, '/health', 8080),
      `${who}: api liveness GET /health :8080`,
      JSON.stringify(api.livenessProbe),
    );
    const rp = api.readinessProbe ?? {};
    r.expect(
      (rp.timeoutSeconds ?? 1) >= 2 && (rp.periodSeconds ?? 10) * (rp.failureThreshold ?? 3) >= 10,
      `${who}: api readiness rides out a 1-2 s restore (timeout >= 2 s, >= 10 s of failures)`,
      JSON.stringify(rp),
    );
    const lp = api.livenessProbe ?? {};
    r.expect(
      (lp.timeoutSeconds ?? 1) >= 2 && (lp.periodSeconds ?? 10) * (lp.failureThreshold ?? 3) >= 30,
      `${who}: api liveness tolerates 30 s before a restart`,
      JSON.stringify(lp),
    );
    const env = resolveEnv(api, objects);
    expectEnvValues(r, `${who}: api`, env, {
      DB_PATH: '/data/app.db',
      BACKUP_DIR: '/backup',
      API_PORT: '8080',
    });
    const d = mountOf(spec, api, '/data');
    r.expect(
      d?.volume?.persistentVolumeClaim?.claimName === 'pra-data' && !d.mount.readOnly,
      `${who}: api mounts pra-data read-write at /data`,
      JSON.stringify(d),
    );
    const b = mountOf(spec, api, '/backup');
    r.expect(
      b?.volume?.persistentVolumeClaim?.claimName === 'pra-backup' && b.mount.readOnly === true,
      `${who}: api mounts pra-backup read-only at /backup`,
      JSON.stringify(b),
    );
  }
  const svc = find(objects, 'Service', 'api');
  r.expect(
    svc && (svc.spec.ports ?? []).some((p) => p.port === 80 && portNumber(api ?? {}, p.targetPort) === 8080),
    `${pre} Service api 80 -> 8080`,
    JSON.stringify(svc?.spec?.ports),
  );

  const sidecar = (spec.initContainers ?? []).find((c) => c.name === 'backup-agent');
  const agentSvc = find(objects, 'Service', 'backup-agent');
  if (mode === 'cronjob') {
    r.expect(
      !sidecar,
      `${who}: no agent sidecar in CronJob mode`,
      'the sidecar and the CronJob would both back up',
    );
    r.expect(!agentSvc, `${pre} no Service backup-agent in CronJob mode (nothing serves it)`, 'present');
    return;
  }
  if (!r.expect(sidecar, `${who}: backup-agent native sidecar (initContainers)`, 'missing')) return;
  r.expect(
    sidecar.restartPolicy === 'Always',
    `${who}: backup-agent restartPolicy Always (native sidecar)`,
    `restartPolicy ${sidecar.restartPolicy}`,
  );
  r.expect(
    parseImage(sidecar.image).name === 'pra/backup-agent',
    `${who}: sidecar runs pra/backup-agent`,
    sidecar.image,
  );
  r.expect(
    !sidecar.args || JSON.stringify(sidecar.args) === '["serve"]',
    `${who}: sidecar runs "serve"`,
    JSON.stringify(sidecar.args),
  );
  r.expect(
    portNumber(sidecar, 'agent-http') === 8081,
    `${who}: sidecar port agent-http = 8081`,
    JSON.stringify(sidecar.ports),
  );
  r.expect(
    probeAt(sidecar.livenessProbe, sidecar, '/health', 8081),
    `${who}: sidecar liveness GET /health :8081`,
    JSON.stringify(sidecar.livenessProbe),
  );
  const env = resolveEnv(sidecar, objects);
  expectEnvValues(r, `${who}: sidecar`, env, {
    DB_PATH: '/data/app.db',
    BACKUP_DIR: '/backup',
    AGENT_PORT: '8081',
  });
  r.expect(env.BACKUP_SCHEDULE?.value, `${who}: sidecar BACKUP_SCHEDULE set`, 'missing');
  r.expect(
    env.BACKUP_TOKEN?.secret === 'pra-backup-token' && env.BACKUP_TOKEN.key === 'token',
    `${who}: sidecar BACKUP_TOKEN from Secret pra-backup-token (destructive routes authenticated)`,
    JSON.stringify(env.BACKUP_TOKEN),
  );
  const d = mountOf(spec, sidecar, '/data');
  const b = mountOf(spec, sidecar, '/backup');
  r.expect(
    d?.volume?.persistentVolumeClaim?.claimName === 'pra-data' && !d.mount.readOnly,
    `${who}: sidecar mounts pra-data read-write (same volume as the API)`,
    JSON.stringify(d),
  );
  r.expect(
    b?.volume?.persistentVolumeClaim?.claimName === 'pra-backup' && !b.mount.readOnly,
    `${who}: sidecar mounts pra-backup read-write`,
    JSON.stringify(b),
  );
  r.expect(
    agentSvc &&
      (agentSvc.spec.ports ?? []).some((p) => p.port === 80 && portNumber(sidecar, p.targetPort) === 8081),
    `${pre} Service backup-agent 80 -> 8081`,
    JSON.stringify(agentSvc?.spec?.ports),
  );
}

/** A one-shot agent pod (CronJob, restore Job): the paths of the workshop and both volumes. */
function checkAgentVolumes(r, pre, spec, c, env) {
  r.expect(
    env.DB_PATH?.value === '/data/app.db' && env.BACKUP_DIR?.value === '/backup',
    `${pre}: DB_PATH and BACKUP_DIR`,
    JSON.stringify(env),
  );
  r.expect(
    mountOf(spec, c, '/data')?.volume?.persistentVolumeClaim?.claimName === 'pra-data',
    `${pre}: mounts pra-data`,
    '',
  );
  r.expect(
    mountOf(spec, c, '/backup')?.volume?.persistentVolumeClaim?.claimName === 'pra-backup',
    `${pre}: mounts pra-backup`,
    '',
  );
}

function checkCronJob(r, render, objects) {
  const pre = `[${render.name}] CronJob sqlite-backup`;
  const cj = find(objects, 'CronJob', 'sqlite-backup');
  if (!r.expect(cj, pre, 'missing')) return;
  r.expect(cj.spec.schedule === '* * * * *', `${pre}: every minute`, cj.spec.schedule);
  r.expect(
    cj.spec.concurrencyPolicy === 'Forbid',
    `${pre}: concurrencyPolicy Forbid`,
    cj.spec.concurrencyPolicy,
  );
  r.expect(
    cj.spec.successfulJobsHistoryLimit >= 1 && cj.spec.failedJobsHistoryLimit >= 1,
    `${pre}: history limits set`,
    'missing',
  );
  r.expect(
    cj.spec.suspend !== true,
    `${pre}: not suspended as deployed (resume = re-apply or patch)`,
    'suspend: true',
  );
  const spec = cj.spec.jobTemplate.spec.template.spec;
  const c = spec.containers?.[0];
  r.expect(
    parseImage(c?.image ?? '').name === 'pra/backup-agent' && JSON.stringify(c?.args) === '["backup"]',
    `${pre}: runs the agent's "backup"`,
    `${c?.image} ${JSON.stringify(c?.args)}`,
  );
  const env = resolveEnv(c ?? {}, objects);
  checkAgentVolumes(r, pre, spec, c, env);
  r.expect(
    podAffinityToApi(spec.affinity?.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    `${pre}: runs on the api pod's node (pod affinity; pra-data is ReadWriteOnce)`,
    JSON.stringify(spec.affinity),
  );
  r.expect(
    cj.spec.jobTemplate.spec.activeDeadlineSeconds > 0 && cj.spec.jobTemplate.spec.activeDeadlineSeconds < 60,
    `${pre}: a run that cannot start gives up before the next one`,
    'activeDeadlineSeconds',
  );
}

function checkOffsite(r, render, objects) {
  const pre = `[${render.name}]`;
  const minio = find(objects, 'Deployment', 'minio');
  r.expect(minio, `${pre} Deployment minio`, 'missing');
  r.expect(find(objects, 'PersistentVolumeClaim', 'minio-data'), `${pre} PVC minio-data`, 'missing');
  const svc = find(objects, 'Service', 'minio');
  r.expect(
    svc && (svc.spec.ports ?? []).some((p) => p.port === 9000),
    `${pre} Service minio :9000`,
    'missing',
  );
  const creds = find(objects, 'Secret', 'minio-credentials');
  r.expect(
    creds?.data?.MINIO_ROOT_USER && creds?.data?.MINIO_ROOT_PASSWORD,
    `${pre} Secret minio-credentials (generated)`,
    'missing',
  );
  const mc = minio?.spec?.template?.spec?.containers?.[0];
  r.expect(
    mc && parseImage(mc.image).name.endsWith('minio/minio'),
    `${pre} MinIO runs minio/minio`,
    mc?.image,
  );
  if (mc) {
    const menv = resolveEnv(mc, objects);
    r.expect(
      menv.MINIO_ROOT_USER?.secret === 'minio-credentials' &&
        menv.MINIO_ROOT_PASSWORD?.secret === 'minio-credentials',
      `${pre} MinIO root credentials from the Secret`,
      JSON.stringify(menv),
    );
  }
  const sidecar = find(objects, 'Deployment', 'api')?.spec?.template?.spec?.initContainers?.find(
    (c) => c.name === 'backup-agent',
  );
  if (!r.expect(sidecar, `${pre} agent sidecar present for offsite copies`, 'missing')) return;
  const env = resolveEnv(sidecar, objects);
  r.expect(
    env.S3_ENDPOINT?.value === 'http://minio:9000',
    `${pre} agent S3_ENDPOINT=http://minio:9000 (the Service)`,
    JSON.stringify(env.S3_ENDPOINT),
  );
  r.expect(env.S3_BUCKET?.value, `${pre} agent S3_BUCKET set`, 'missing');
  r.expect(
    env.S3_FORCE_PATH_STYLE?.value === 'true',
    `${pre} agent S3_FORCE_PATH_STYLE=true (MinIO)`,
    JSON.stringify(env.S3_FORCE_PATH_STYLE),
  );
  r.expect(
    env.S3_ACCESS_KEY_ID?.secret === 'minio-credentials' &&
      env.S3_SECRET_ACCESS_KEY?.secret === 'minio-credentials',
    `${pre} agent S3 keys from Secret minio-credentials`,
    JSON.stringify({ id: env.S3_ACCESS_KEY_ID, secret: env.S3_SECRET_ACCESS_KEY }),
  );
}

function checkRestoreJob(r, render, objects) {
  const pre = `[${render.name}] Job sqlite-restore`;
  const job = find(objects, 'Job', 'sqlite-restore');
  if (!r.expect(job, pre, 'missing')) return;
  r.expect(
    job.metadata.namespace === NAMESPACE,
    `${pre}: namespace ${NAMESPACE} in the file (applied without kustomize)`,
    'missing',
  );
  const spec = job.spec.template.spec;
  const c = spec.containers?.[0] ?? {};
  r.expect(parseImage(c.image ?? '').name === 'pra/backup-agent', `${pre}: runs pra/backup-agent`, c.image);
  r.expect(
    JSON.stringify(c.args) === JSON.stringify(['restore', '--offline', '--id', '$(BACKUP_ID)']),
    `${pre}: args restore --offline --id $(BACKUP_ID)`,
    JSON.stringify(c.args),
  );
  const env = resolveEnv(c, objects);
  const wanted = render.backupId ?? '';
  r.expect(
    env.BACKUP_ID && env.BACKUP_ID.value === wanted,
    `${pre}: BACKUP_ID="${wanted}"${wanted ? '' : ' (latest)'}`,
    JSON.stringify(env.BACKUP_ID),
  );
  checkAgentVolumes(r, pre, spec, c, env);
  r.expect(
    spec.restartPolicy === 'Never' && job.spec.backoffLimit === 0,
    `${pre}: runs once (restartPolicy Never, backoffLimit 0)`,
    '',
  );
  r.expect(
    podAffinityToApi(spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution),
    `${pre}: never beside a running API (anti-affinity: offline restore only when scaled to 0)`,
    JSON.stringify(spec.affinity),
  );
}

/** The agent's mode in a kustomization render: 'sidecar', 'cronjob', or undefined (no api). */
export function modeOf(objects) {
  if (find(objects, 'CronJob', 'sqlite-backup')) return 'cronjob';
  const dep = find(objects, 'Deployment', 'api');
  if (!dep) return undefined;
  return 'sidecar';
}

/**
 * renders: from render.mjs (each gets expectedTag). context: { generated, expectedTag }.
 * Returns the results list.
 */
export function check(renders, { generated, expectedTag }) {
  const r = new Results();
  const base = renders.find((x) => x.name === 'base');
  r.expect(base, 'base renders', 'no base');
  for (const render of renders) {
    render.expectedTag = expectedTag;
    const objects = render.objects;
    r.expect(objects.length > 0, `[${render.name}] renders objects`, 'empty');
    if (render.type === 'kustomization') {
      const mode = modeOf(objects);
      checkApi(r, render, objects, mode);
      if (mode === 'cronjob') checkCronJob(r, render, objects);
      if (find(objects, 'Deployment', 'minio') || render.name.endsWith('/minio'))
        checkOffsite(r, render, objects);
      checkPods(r, render, objects, objects);
      checkObjects(r, render, objects);
      checkSecrets(r, render, objects, generated);
    } else {
      if (objects.some((o) => o.metadata?.name === 'sqlite-restore')) checkRestoreJob(r, render, objects);
      // Jobs use the volumes the base creates.
      checkPods(r, render, objects, base?.objects ?? []);
      checkObjects(r, render, objects);
      r.expect(
        !objects.some((o) => o.kind === 'Secret'),
        `[${render.name}] no Secret in a plain file`,
        'credentials belong to the generated Secrets',
      );
    }
  }
  return r.items;
}
