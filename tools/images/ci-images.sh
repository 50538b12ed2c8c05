#!/usr/bin/env bash
# Builds both images for real and checks that each one starts and answers /health.
# CI runs it (`make ci-images`) as root on a fresh Debian 12 machine that reaches only Debian's
# apt mirror and the npm registry; it installs everything it needs, so it also runs on a developer
# machine as root (a second run reuses the base image, the Docker daemon and the build cache).
#
#   tools/images/ci-images.sh
#
# Environment:
#   IMAGE_TAG        tag of the images (default 1.0, as in the workshop)
#   BASE_IMAGE       base image (default pra/node:24-bookworm-slim, built here from Debian + npm)
#   EXTRA_CA_BUNDLE  PEM bundle trusted inside the build (default: $NODE_EXTRA_CA_CERTS, the bundle
#                    the host's Node trusts; set it empty to add none)
#   IMAGE_CACHE_DIR  npm cache and compiled better-sqlite3 shared by the builds and by later runs
#                    (default /var/cache/pra-kit/image-build: outside the clone, CI clones afresh)
#
# Steps: apt tools -> Docker daemon -> base image -> make build -> template checks -> make image
# (Packer) -> smoke tests, each printed as a `==>` line and timed.
set -euo pipefail
cd "$(dirname "$0")/../.."

IMAGE_TAG="${IMAGE_TAG:-1.0}"
BASE_IMAGE="${BASE_IMAGE:-pra/node:24-bookworm-slim}"
EXTRA_CA_BUNDLE="${EXTRA_CA_BUNDLE-${NODE_EXTRA_CA_CERTS:-}}"
IMAGE_CACHE_DIR="${IMAGE_CACHE_DIR:-/var/cache/pra-kit/image-build}"
APP_UID=10001   # the images' runtime user (deploy/packer/images.pkr.hcl)

# --- step lines and timings --------------------------------------------------------------------
timings=()
step_name="" step_started=0 run_started=$SECONDS
step() {
  step_done
  step_name="$*" step_started=$SECONDS
  echo
  echo "==> $step_name"
}
step_done() {
  [[ -n "$step_name" ]] && timings+=("$(printf '%5ss  %s' $((SECONDS - step_started)) "$step_name")")
  step_name=""
}
summary() {
  local rc=$? failed_step="$step_name"
  step_done
  echo
  echo "==> timings"
  printf '    %s\n' "${timings[@]}"
  printf '    %5ss  total\n' $((SECONDS - run_started))
  cleanup_containers
  stop_dockerd
  if [[ $rc == 0 ]]; then echo "==> images OK"; else echo "==> FAILED (exit $rc): $failed_step" >&2; fi
}
trap summary EXIT
fail() { echo "!!! $*" >&2; exit 1; }

# --- 1. tools -----------------------------------------------------------------------------------
step "tools: docker.io, packer, debootstrap, curl, shellcheck from Debian"
[[ $(id -u) == 0 ]] || fail "run as root: it installs packages, starts dockerd and runs debootstrap"
if command -v dockerd >/dev/null && command -v packer >/dev/null && command -v debootstrap >/dev/null \
  && command -v curl >/dev/null && command -v shellcheck >/dev/null; then
  echo "    already installed"
else
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # no recommends: needrestart would prompt, git and apparmor are not needed to build
  apt-get install -y -qq --no-install-recommends docker.io packer debootstrap debian-archive-keyring \
    ca-certificates curl shellcheck >/dev/null
fi
echo "    $(packer version | head -1), $(dockerd --version)"

# --- 2. Docker daemon ---------------------------------------------------------------------------
step "Docker daemon"
dockerd_pid=""
stop_dockerd() {
  # CI machines keep no process after the run: stop the daemon this script started, by its pid.
  # Elsewhere leave it running so the images can be used.
  [[ -n "$dockerd_pid" && "${CI:-}" == true ]] || return 0
  echo "==> stopping the Docker daemon this run started (pid $dockerd_pid)"
  kill "$dockerd_pid" 2>/dev/null || true
  for _ in $(seq 30); do kill -0 "$dockerd_pid" 2>/dev/null || return 0; sleep 1; done
}
if docker info >/dev/null 2>&1; then
  echo "    already running"
else
  # No systemd here: start it in the background, detached from this script's output.
  setsid dockerd >/var/log/pra-dockerd.log 2>&1 </dev/null &
  dockerd_pid=$!
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 /var/log/pra-dockerd.log; fail "dockerd did not start (log: /var/log/pra-dockerd.log)"; }
  echo "    started dockerd (pid $dockerd_pid, log /var/log/pra-dockerd.log)"
fi

# --- 3. base image ------------------------------------------------------------------------------
step "base image $BASE_IMAGE"
if [[ "$BASE_IMAGE" == pra/* ]]; then
  BASE_IMAGE="$BASE_IMAGE" tools/images/build-base-image.sh
else
  echo "    $BASE_IMAGE is not built here (Docker pulls it if missing)"
fi

# --- 4. application build -----------------------------------------------------------------------
step "make build (dist/apps/api, dist/apps/backup-agent, dist/apps/console)"
make build

# --- 5. images ----------------------------------------------------------------------------------
step "check the template and scripts: packer fmt, packer validate, shellcheck"
packer fmt -check -diff deploy/packer
packer validate deploy/packer/images.pkr.hcl   # the file Packer < 1.7 builds; needs dist/ (step 4)
shellcheck tools/images/*.sh deploy/packer/scripts/*.sh
echo "    ok"

step "make image: Packer builds pra/api:$IMAGE_TAG and pra/backup-agent:$IMAGE_TAG"
if [[ -n "$EXTRA_CA_BUNDLE" && ! -s "$EXTRA_CA_BUNDLE" ]]; then
  fail "EXTRA_CA_BUNDLE=$EXTRA_CA_BUNDLE is not a readable file"
fi
# -o build: `make build` just ran; `make image` would otherwise run it again.
# No prebuilt better-sqlite3 is reachable from here: compile it (once, see IMAGE_CACHE_DIR).
make -o build image TAG="$IMAGE_TAG" BASE_IMAGE="$BASE_IMAGE" EXTRA_CA="$EXTRA_CA_BUNDLE" \
  IMAGE_CACHE_DIR="$IMAGE_CACHE_DIR" NPM_BUILD_FROM_SOURCE=true
# The images the new ones replaced are left untagged: drop them so runs do not pile up.
docker image prune -f --filter label=org.opencontainers.image.vendor=pra-kit >/dev/null

# --- 6. smoke tests -----------------------------------------------------------------------------
containers=()
cleanup_containers() {
  if ((${#containers[@]})); then docker rm -f "${containers[@]}" >/dev/null 2>&1 || true; fi
  containers=()
}

# run_image NAME IMAGE PORT [ARGS...]: start IMAGE as Kubernetes will (non-root, read-only root
# filesystem, only /data, /backup and /tmp writable, no capabilities), published on 127.0.0.1.
run_image() {
  local name="pra-smoke-$1" image="$2" port="$3"
  shift 3
  docker rm -f "$name" >/dev/null 2>&1 || true
  containers+=("$name")
  docker run -d --name "$name" --read-only --cap-drop ALL --security-opt no-new-privileges \
    --tmpfs /tmp --tmpfs "/data:uid=$APP_UID,gid=$APP_UID,mode=0750" \
    --tmpfs "/backup:uid=$APP_UID,gid=$APP_UID,mode=0750" \
    -p "127.0.0.1::$port" "$image" "$@" >/dev/null
  addr="$(docker port "$name" "$port/tcp" | head -1)"
  echo "    $image started as $name, port $port published on $addr"
}

# expect NAME PATH EXPECTED: GET http://$addr/PATH answers EXPECTED (retries while it starts).
expect() {
  local name="$1" path="$2" expected="$3" body=""
  for _ in $(seq 30); do
    body="$(curl -fsS --max-time 2 "http://$addr$path" 2>/dev/null)" && break
    [[ "$(docker inspect -f '{{.State.Running}}' "$name")" == true ]] || break
    sleep 1
  done
  if [[ "$body" != "$expected" ]]; then
    echo "--- docker logs $name" >&2
    docker logs --tail 40 "$name" >&2 || true
    fail "$name: GET $path answered '${body:-nothing}', expected '$expected'"
  fi
  echo "    GET $path -> $body"
}

# check_config IMAGE ENTRYPOINT CMD: the image runs as $APP_UID with the expected command.
check_config() {
  local image="$1" want_entrypoint="$2" want_cmd="$3" user entrypoint cmd
  user="$(docker image inspect -f '{{.Config.User}}' "$image")"
  entrypoint="$(docker image inspect -f '{{json .Config.Entrypoint}}' "$image")"
  cmd="$(docker image inspect -f '{{json .Config.Cmd}}' "$image")"
  [[ "$cmd" != null ]] || cmd='[]'   # an empty CMD reads as null or [] depending on the client
  [[ "$user" == "$APP_UID:$APP_UID" ]] || fail "$image: USER is '$user', expected $APP_UID:$APP_UID"
  [[ "$entrypoint" == "$want_entrypoint" ]] || fail "$image: ENTRYPOINT is $entrypoint, expected $want_entrypoint"
  [[ "$cmd" == "$want_cmd" ]] || fail "$image: CMD is $cmd, expected $want_cmd"
  # the compiler used for better-sqlite3 must not be left in the image
  docker run --rm --entrypoint /bin/sh "$image" -c \
    'for t in gcc g++ cc make python3; do if command -v $t; then exit 1; fi; done' \
    || fail "$image: a build tool is left in the image"
  echo "    $image: user $user, entrypoint $entrypoint, cmd $cmd, no build tools"
}

# stop_gracefully NAME: SIGTERM must stop it well before Docker's 10 s kill.
stop_gracefully() {
  local name="$1" started=$SECONDS code
  docker stop -t 10 "$name" >/dev/null
  code="$(docker inspect -f '{{.State.ExitCode}}' "$name")"
  [[ "$code" != 137 ]] || fail "$name ignored SIGTERM and was killed"
  echo "    stopped on SIGTERM in $((SECONDS - started))s (exit $code)"
}

step "smoke test pra/api:$IMAGE_TAG"
api="pra/api:$IMAGE_TAG"
check_config "$api" '["node","/app/main.js"]' '[]'
run_image api "$api" 8080
[[ "$(docker exec pra-smoke-api id -u)" == "$APP_UID" ]] || fail "pra-smoke-api does not run as $APP_UID"
expect pra-smoke-api /health '{"status":"ok"}'
expect pra-smoke-api /ready '{"status":"ready","database":"/data/app.db"}'   # SQLite opened on /data
expect pra-smoke-api /count '{"count":0}'
curl -fsS -o /dev/null "http://$addr/add?message=smoke-test" || fail "pra-smoke-api: /add failed"
expect pra-smoke-api /count '{"count":1}'                                   # a row committed
stop_gracefully pra-smoke-api

step "smoke test pra/backup-agent:$IMAGE_TAG"
agent="pra/backup-agent:$IMAGE_TAG"
check_config "$agent" '["node","/app/main.js"]' '["serve"]'
# one-shot commands go through the same entrypoint (a CronJob passes args: ["backup"])
docker run --rm --read-only "$agent" --help >/dev/null || fail "$agent --help failed"
echo "    $agent --help exits 0"
run_image agent "$agent" 8081
[[ "$(docker exec pra-smoke-agent id -u)" == "$APP_UID" ]] || fail "pra-smoke-agent does not run as $APP_UID"
expect pra-smoke-agent /health '{"status":"ok"}'
# The web console is in the image, beside main.js (deploy/packer copies dist/apps/console).
curl -fsS --max-time 5 "http://$addr/" | grep -q '<title>pra-kit console</title>' \
  || fail "pra-smoke-agent: GET / is not the console"
curl -fsS --max-time 5 -o /dev/null "http://$addr/console/console.js" \
  || fail "pra-smoke-agent: GET /console/console.js failed"
echo "    GET / -> the console, GET /console/console.js -> its script"
stop_gracefully pra-smoke-agent
cleanup_containers

step "image sizes"
for image in "$BASE_IMAGE" "$api" "$agent"; do
  docker image inspect -f '{{.Size}}' "$image" | awk -v i="$image" '{ printf "    %-36s %4.0f MB\n", i, $1 / 1e6 }'
done
