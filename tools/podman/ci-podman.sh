#!/usr/bin/env bash
# CI: the real manifests under Podman. Plays deploy/k8s/base with the images Packer built
# (make ci-images), checks every route, then runs the pod-loss and data-loss drills against the
# pod. Fails when the pod-loss drill loses an acknowledged write, or when the data-loss drill's
# restored data does not match the backup. Needs root, Debian 12.
#
# Podman 4.3 plays Deployments, ConfigMaps and PVCs from the real manifests; what it cannot do
# (native sidecars, Kubernetes Secrets) is adapted by tools/podman/render-for-podman.mjs.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
TAG=${TAG:-1.0}
API_PORT=${PODMAN_API_PORT:-18080}
AGENT_PORT=${PODMAN_AGENT_PORT:-18081}
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
  local pods
  pods=$(podman pod ps -q --filter label=app.kubernetes.io/name=api 2>/dev/null || true)
  if [[ -n $pods ]]; then
    # shellcheck disable=SC2086 # one id per word
    podman pod rm -f $pods >/dev/null 2>&1 || true
  fi
  podman volume rm -f pra-data pra-backup api-tmp agent-tmp >/dev/null 2>&1 || true
  podman secret rm pra-backup-token >/dev/null 2>&1 || true
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

step "images pra/api:$TAG and pra/backup-agent:$TAG from Docker into Podman"
started_dockerd=""
if ! docker info >/dev/null 2>&1; then
  dockerd >"$WORK/dockerd.log" 2>&1 &
  started_dockerd=$!
  for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
fi
docker save "pra/api:$TAG" "pra/backup-agent:$TAG" | podman load
if [[ -n $started_dockerd ]]; then
  kill "$started_dockerd"
  wait "$started_dockerd" 2>/dev/null || true
fi

step "render deploy/k8s/base (kubectl kustomize) and adapt it for podman kube play"
cp -r deploy/k8s "$WORK/k8s"
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

finish_step
echo
echo "==> timings"
printf '%s\n' "${timings[@]}"
echo "==> podman OK: routes checked, pod-loss and data-loss drills passed (reports in var/drills/ci-podman)"
