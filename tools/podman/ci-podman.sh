#!/usr/bin/env bash
# CI: the real manifests under Podman, with the images Packer built (make ci-images). Needs root,
# Debian 12. In order:
#   1. deploy/k8s/base played: every route, then the pod-loss and data-loss drills against the pod
#      (fails when an acknowledged write is lost, or restored data does not match the backup);
#   2. the CronJob overlay's backup: its pod template run once against the played volumes;
#   3. the restore Job's pod template, rendered by the runbook (tools/k8s/workshop.sh
#      render-restore-job), after a volume loss: with BACKUP_ID, with BACKUP_AT, and empty;
#   4. the minio overlay, with an S3 server image built here (s3rver on the project's Node base
#      image, since no MinIO image can be pulled): the agent uploads over the pod network, both
#      volumes are emptied, and the restore Job (FROM=s3) brings the data back from the bucket.
#
# Podman 4.3 plays Deployments, Pods, ConfigMaps and PVCs from the real manifests; what it cannot do
# (native sidecars, Kubernetes Secrets, Jobs, Services) is adapted by tools/podman/render-for-podman.mjs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TAG=${TAG:-1.0}
API_PORT=${PODMAN_API_PORT:-18080}
AGENT_PORT=${PODMAN_AGENT_PORT:-18081}
BASE_IMAGE=${BASE_IMAGE:-pra/node:24-bookworm-slim}
S3_IMAGE=localhost/pra/s3rver:ci
WORK=$(mktemp -d /tmp/pra-podman.XXXXXX)
# Our own containers.conf, not the machine's: the ulimits this kernel accepts, and runc (crun
# refuses cgroups v1 in hybrid mode here).
export CONTAINERS_CONF=$WORK/containers.conf

timings=()
current=""
current_start=$SECONDS
step() {
  finish_step
  current=$1
  current_start=$SECONDS
  printf '\n==> %s\n' "$1"
}
finish_step() {
  if [[ -n $current ]]; then
    timings+=("$(printf '%6ss  %s' $((SECONDS - current_start)) "$current")")
  fi
  current=""
}

remove_pod() {
  local pods label
  for label in app.kubernetes.io/name=api app.kubernetes.io/name=minio pra-kit/played-from; do
    pods=$(podman pod ps -q --filter "label=$label" 2>/dev/null || true)
    if [[ -n $pods ]]; then
      # shellcheck disable=SC2086 # one id per word
      podman pod rm -f $pods >/dev/null 2>&1 || true
    fi
  done
  podman volume rm -f pra-data pra-backup minio-data api-tmp agent-tmp minio-tmp >/dev/null 2>&1 || true
  podman secret rm pra-backup-token minio-credentials pra-offsite-key >/dev/null 2>&1 || true
}
cleanup() {
  remove_pod
  rm -rf "$WORK"
}
trap cleanup EXIT

step "tools: podman, catatonit and runc from Debian"
missing=()
for p in podman catatonit runc; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [[ ${#missing[@]} -gt 0 ]]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
cat >"$CONTAINERS_CONF" <<'CONF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
CONF
podman --version
command -v kubectl >/dev/null || { echo "kubectl (with kustomize) is needed to render deploy/k8s" >&2; exit 1; }

step "images pra/api:$TAG, pra/backup-agent:$TAG and $BASE_IMAGE from Docker into Podman"
started_dockerd=""
if ! docker info >/dev/null 2>&1; then
  dockerd >"$WORK/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
fi
docker save "pra/api:$TAG" "pra/backup-agent:$TAG" "$BASE_IMAGE" | podman load
if [[ -n $started_dockerd ]]; then
  kill "$started_dockerd"
  wait "$started_dockerd" 2>/dev/null || true
fi

step "render deploy/k8s/base (kubectl kustomize) and adapt it for podman kube play"
cp -r deploy/k8s "$WORK/k8s"
# The S3 server standing in for MinIO (step 4) accepts one key pair: give it to the minio overlay's
# generated credentials (in this copy only; the other credentials are generated as usual).
mkdir -p "$WORK/k8s/overlays/minio/secrets"
printf 'MINIO_ROOT_USER=S3RVER\nMINIO_ROOT_PASSWORD=S3RVER\n' >"$WORK/k8s/overlays/minio/secrets/minio.env"
"$WORK/k8s/generate-secrets.sh" >/dev/null
kubectl kustomize "$WORK/k8s/base" >"$WORK/base.yaml"
node tools/podman/render-for-podman.mjs "$WORK/base.yaml" "$WORK/play" "$API_PORT" "$AGENT_PORT"
TOKEN=$(sed -n 's/^token=//p' "$WORK/k8s/base/secrets/backup-token.env")

step "podman kube play: volumes, then the pod"
remove_pod
podman secret create pra-backup-token "$WORK/play/secrets/pra-backup-token.json" >/dev/null
podman kube play "$WORK/play/pvcs.yaml"
podman kube play "$WORK/play/workloads.yaml"
for _ in $(seq 1 120); do
  curl -fsS "http://127.0.0.1:$API_PORT/ready" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$AGENT_PORT/health" >/dev/null 2>&1 && break
  sleep 0.5
done
podman pod ps
podman ps --format '{{.Names}}  {{.Status}}  {{.Image}}'

step "every route"
node tools/podman/check-routes.mjs "http://127.0.0.1:$API_PORT" "http://127.0.0.1:$AGENT_PORT" "$TOKEN"

drill() {
  BACKUP_TOKEN=$TOKEN node dist/apps/drill/main.js "$1" --target podman \
    --api "http://127.0.0.1:$API_PORT" --agent "http://127.0.0.1:$AGENT_PORT" \
    --agent-image "pra/backup-agent:$TAG" --out "$ROOT/var/drills/ci-podman" --warmup 5 --settle 3 "${@:2}"
}

step "drill pod-loss (PCA): kill -9 the API in the pod; no acknowledged write may be lost"
drill pod-loss --max-lost 0

step "drill data-loss (PRA): empty pra-data while writing; restore offline; data must match the backup"
drill data-loss

# --- helpers for the one-shot pods and the volume losses ---------------------------------------
api_pod() { podman pod ps -q --filter label=app.kubernetes.io/name=api; }
wait_ready() { # the API ready and the agent up, or fail
  local i
  for i in $(seq 1 120); do
    curl -fsS "http://127.0.0.1:$API_PORT/ready" >/dev/null 2>&1 && curl -fsS "http://127.0.0.1:$AGENT_PORT/health" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  echo "the API is not ready after 60 s" >&2
  podman pod ps
  return 1
}
empty_volume() { # what a lost volume looks like to the pods: nothing left in it
  local mountpoint
  mountpoint=$(podman volume inspect "$1" -f '{{.Mountpoint}}')
  find "$mountpoint" -mindepth 1 -delete
  echo "    emptied volume $1"
}
# play_once FILE POD CONTAINER: plays a pod template once, waits for it, prints its log; the exit
# status is the container's.
play_once() {
  local code
  podman kube play "$1" >/dev/null
  code=$(podman wait "$2-$3")
  podman logs "$2-$3" 2>&1 | sed 's/^/    | /'
  podman pod rm -f "$2" >/dev/null
  echo "    $2 exited with $code"
  return "$code"
}
count() { curl -fsS "http://127.0.0.1:$API_PORT/count" | node -pe 'JSON.parse(require("fs").readFileSync(0)).count'; }
agent_json() { curl -fsS "http://127.0.0.1:$AGENT_PORT$1"; }
field() { node -pe "const d = JSON.parse(require('fs').readFileSync(0)); $1"; }
fail() {
  echo "!!! $*" >&2
  exit 1
}
add_events() { # n prefix
  local i
  for ((i = 0; i < $1; i++)); do curl -fsS "http://127.0.0.1:$API_PORT/add?message=$2-$i" >/dev/null; done
}
restore_pod() { # file (the runbook's rendered Job) -> the restore pod file
  node tools/podman/render-for-podman.mjs --pod-of Job/sqlite-restore --name sqlite-restore-ci \
    "$1" "$WORK/restore-pod.yaml" "${@:2}" >/dev/null
  echo "$WORK/restore-pod.yaml"
}

step "CronJob overlay: its backup pod template, once, against the played volumes"
kubectl kustomize "$WORK/k8s/overlays/cronjob" >"$WORK/cronjob.yaml"
node tools/podman/render-for-podman.mjs --pod-of CronJob/sqlite-backup --name sqlite-backup-ci \
  --config "$WORK/cronjob.yaml" "$WORK/cronjob.yaml" "$WORK/backup-pod.yaml"
add_events 5 cronjob-backup
rows_now=$(count)
status=0
play_once "$WORK/backup-pod.yaml" sqlite-backup-ci backup | tee "$WORK/backup.log" || status=$?
if ((status == 5)); then # the sidecar's own schedule was backing up at that second: once more
  status=0
  play_once "$WORK/backup-pod.yaml" sqlite-backup-ci backup | tee "$WORK/backup.log" || status=$?
fi
((status == 0)) || fail "the CronJob's backup exited with $status"
cron_id=$(sed -n 's/.*| backup \(app-[0-9-]*\) ok: .*/\1/p' "$WORK/backup.log")
[[ -n $cron_id ]] || fail "no 'backup <id> ok' line in the CronJob's log"
agent_json "/backups/$cron_id" >"$WORK/cron-backup.json"
[[ $(field 'd.verified && d.rows' <"$WORK/cron-backup.json") == "$rows_now" ]] ||
  fail "the agent lists $cron_id as $(cat "$WORK/cron-backup.json"), expected verified with $rows_now rows"
echo "    the CronJob's backup $cron_id: $rows_now rows, verified, listed by the agent"

step "restore Job pod template after a volume loss: BACKUP_ID, BACKUP_AT, then empty (the newest)"
agent_json /backups >"$WORK/backups.json"
older_id=$(field 'd.find((b) => b.verified && b.rows > 0 && b.rows < '"$rows_now"')?.id ?? ""' <"$WORK/backups.json")
older_rows=$(field 'd.find((b) => b.id === "'"$older_id"'")?.rows' <"$WORK/backups.json")
[[ -n $older_id ]] || fail "no older backup to restore by id in $(cat "$WORK/backups.json")"
restore_case() { # label env... : stop the pod, lose pra-data, run the rendered Job once
  local label=$1
  shift
  echo "    -- $label"
  podman pod stop -t 10 "$(api_pod)" >/dev/null
  empty_volume pra-data
  env -u ID -u AT -u FROM "$@" tools/k8s/workshop.sh render-restore-job >"$WORK/job.yaml"
  play_once "$(restore_pod "$WORK/job.yaml")" sqlite-restore-ci restore
}
restore_case "BACKUP_ID=$older_id" ID="$older_id" || fail "the restore of $older_id failed"
podman pod start "$(api_pod)" >/dev/null
wait_ready
[[ $(count) == "$older_rows" ]] || fail "after restoring $older_id: count $(count), expected $older_rows"
echo "    restored $older_id: count $older_rows"

at=$(field 'd.find((b) => b.id === "'"$older_id"'").created_at' <"$WORK/backups.json")
status=0
restore_case "BACKUP_AT=$at" AT="$at" | tee "$WORK/at.log" || status=$?
if ((status == 0)); then
  podman pod start "$(api_pod)" >/dev/null
  wait_ready
  [[ $(count) -ge "$older_rows" ]] || fail "after restoring the state at $at: count $(count), expected >= $older_rows"
  echo "    restored the state at $at: count $(count)"
else
  # An agent without continuous replication refuses a point in time, clearly, and changes nothing.
  grep -qi 'point-in-time' "$WORK/at.log" || fail "BACKUP_AT=$at failed without saying why (exit $status)"
  echo "    BACKUP_AT refused by this agent (no continuous replication): said so, exit $status"
fi

latest_json=$(agent_json /backups/latest 2>/dev/null || true)
if [[ -z $latest_json ]]; then # the pod is stopped after a refused BACKUP_AT: ask the backup volume
  podman pod start "$(api_pod)" >/dev/null
  sleep 2
  latest_json=$(agent_json /backups/latest)
fi
latest_rows=$(field 'd.rows' <<<"$latest_json")
restore_case "empty: the newest point" || fail "the restore of the newest point failed"
podman pod start "$(api_pod)" >/dev/null
wait_ready
[[ $(count) == "$latest_rows" ]] || fail "after restoring the newest point: count $(count), expected $latest_rows"
echo "    restored the newest point: count $latest_rows"

step "minio overlay: an S3 server image (s3rver on $BASE_IMAGE), uploads over the pod network, both volumes lost, restore from the bucket"
remove_pod
s3rver_version=$(node -p 'require("./node_modules/s3rver/package.json").version')
mkdir -p "$WORK/s3rver"
(cd "$WORK/s3rver" && npm install --no-save --no-audit --no-fund --no-package-lock --loglevel=error "s3rver@$s3rver_version" >/dev/null)
podman build --pull=never -q -t "$S3_IMAGE" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  -f tools/podman/s3rver/Containerfile "$WORK/s3rver" >/dev/null
echo "    built $S3_IMAGE (s3rver $s3rver_version)"
kubectl kustomize "$WORK/k8s/overlays/minio" >"$WORK/minio.yaml"
node tools/podman/render-for-podman.mjs "$WORK/minio.yaml" "$WORK/minio-play" "$API_PORT" "$AGENT_PORT" --s3-image "$S3_IMAGE"
for secret in "$WORK"/minio-play/secrets/*.json; do podman secret create "$(basename "$secret" .json)" "$secret" >/dev/null; done
podman kube play "$WORK/minio-play/pvcs.yaml" >/dev/null
podman kube play "$WORK/minio-play/deploy-minio.yaml" >/dev/null
infra=$(podman pod inspect "$(podman pod ps -q --filter label=app.kubernetes.io/name=minio | head -n 1)" -f '{{.InfraContainerID}}')
minio_ip=$(podman inspect "$infra" -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}')
[[ -n $minio_ip ]] || fail "the S3 server's pod has no address"
# the Service name minio, as the agent's S3_ENDPOINT says, resolves to the S3 server's pod
node tools/podman/render-for-podman.mjs "$WORK/minio.yaml" "$WORK/minio-play" "$API_PORT" "$AGENT_PORT" \
  --s3-image "$S3_IMAGE" --host-alias "minio=$minio_ip" >/dev/null
podman kube play "$WORK/minio-play/workloads.yaml" >/dev/null
wait_ready
add_events 7 offsite
rows_offsite=$(count)
TOKEN=$(sed -n 's/^token=//p' "$WORK/k8s/base/secrets/backup-token.env")
offsite_id=$(curl -fsS -X POST -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$AGENT_PORT/backups" | field 'd.id')
for _ in $(seq 1 60); do
  [[ $(agent_json "/backups/$offsite_id" | field 'd.offsite?.state ?? d.offsite') == uploaded ]] && break
  sleep 1
done
agent_json "/backups/$offsite_id" >"$WORK/offsite-backup.json"
[[ $(field 'd.offsite?.state ?? d.offsite' <"$WORK/offsite-backup.json") == uploaded ]] ||
  fail "backup $offsite_id not uploaded to the S3 server in 60 s: $(cat "$WORK/offsite-backup.json"); agent /ready: $(agent_json /ready)"
echo "    backup $offsite_id ($rows_offsite rows) uploaded to s3://pra-backups over the pod network"
podman pod stop -t 10 "$(api_pod)" >/dev/null
empty_volume pra-data
empty_volume pra-backup
node -e '
  const { parseAllDocuments } = require("yaml");
  const docs = parseAllDocuments(require("fs").readFileSync(process.argv[1], "utf8")).map((d) => d.toJSON());
  process.stdout.write(JSON.stringify(docs.find((o) => o.kind === "Deployment" && o.metadata.name === "api")));
' "$WORK/minio.yaml" >"$WORK/minio-api.json"
env -u AT ID="$offsite_id" FROM=s3 DEPLOYMENT_JSON="$WORK/minio-api.json" tools/k8s/workshop.sh render-restore-job >"$WORK/job-s3.yaml"
play_once "$(restore_pod "$WORK/job-s3.yaml" --config "$WORK/minio.yaml" --host-alias "minio=$minio_ip")" sqlite-restore-ci restore | tee "$WORK/s3.log" ||
  fail "the restore from the bucket failed"
grep -qE '"from": ?"s3"' "$WORK/s3.log" || fail "the restore did not come from the bucket"
podman pod start "$(api_pod)" >/dev/null
wait_ready
[[ $(count) == "$rows_offsite" ]] || fail "after the restore from the bucket: count $(count), expected $rows_offsite"
echo "    both volumes lost, $offsite_id restored from the bucket: count $rows_offsite"

finish_step
echo
echo "==> timings"
printf '%s\n' "${timings[@]}"
echo "==> podman OK: routes, pod-loss and data-loss drills (reports in var/drills/ci-podman), the CronJob's backup, the restore Job by id, instant and newest, and the minio overlay restored from its bucket"
