#!/usr/bin/env bash
# The runbook of pra-kit on Kubernetes: every cluster operation, implemented once. make calls it
# (make cluster, import, deploy, forward, backups, backup, restore, pca, pra, status, logs, down),
# and so do the Ansible roles (deploy/ansible) and the drill's k8s target (apps/drill), so the
# names, timeouts and failure handling are the same in every path.
#
# Every command that changes or reads the cluster is printed before it runs ("+ kubectl ..."), so
# you can replay it by hand. DRY_RUN=1 prints the commands without running them.
#
# Settings (environment; the Makefile passes them): CLUSTER=pra NS=pra TAG=1.0 OVERLAY=base
# (base | cronjob | minio | monitoring), ID= (a backup id) or AT= (an instant: ISO-8601 with a zone,
# or unix seconds); both empty = the newest restorable point. OFFLINE=1 restores with the Job.
# KUBE_CONTEXT= (a kubectl context; empty = the current one), API_LOCAL_PORT=8080
# AGENT_LOCAL_PORT=8081, RUN_DIR=var/run (port-forward pids and logs).
#
# Steps the other paths call (each one safe to run again): stop (scale the API to 0 and suspend
# the backup CronJob), start (scale to 1 and resume what stop suspended), kill-pod (delete the api
# pod, PCA), delete-volume NAME (delete a PVC), restore-job (with the API stopped: recreate missing
# volumes, run the Job sqlite-restore, wait; FROM=s3 restores from the offsite copy),
# render-restore-job (print that Job, change nothing; CI plays it under Podman).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
cd "$ROOT"

# Names, ports and the uid, shared with the manifests, the validator and the tests.
eval "$(node -e '
  const p = require(process.argv[1]);
  const vars = {
    DEFAULT_NS: p.namespace, APP_UID: p.uid, DEPLOYMENT: p.deployment, API_IMAGE: p.images.api,
    AGENT_IMAGE: p.images.agent, API_CONTAINER: p.containers.api, AGENT_CONTAINER: p.containers.agent,
    API_PORT: p.ports.api, AGENT_PORT: p.ports.agent, SERVICE_PORT: p.ports.service,
    API_SERVICE: p.services.api, AGENT_SERVICE: p.services.agent, DATA_PVC: p.volumes.data,
    BACKUP_PVC: p.volumes.backup, DB_PATH: p.paths.db, BACKUP_DIR: p.paths.backupDir,
    TOKEN_SECRET: p.tokenSecret.name, TOKEN_KEY: p.tokenSecret.key, CRONJOB: p.cronJob,
    RESTORE_JOB: p.restoreJob, JOB_FILE: "deploy/k8s/" + p.restoreJobFile,
    API_SELECTOR: Object.entries(p.podLabel).map(([k, v]) => k + "=" + v).join(","),
  };
  for (const [k, v] of Object.entries(vars)) console.log(k + "=\x27" + String(v).replace(/\x27/g, "") + "\x27");
' "$ROOT/deploy/k8s/project.json")"

CLUSTER=${CLUSTER:-pra}
NS=${NS:-$DEFAULT_NS}
TAG=${TAG:-1.0}
OVERLAY=${OVERLAY:-base}
KUBECTL=${KUBECTL:-kubectl}
KUBE_CONTEXT=${KUBE_CONTEXT:-}
API_LOCAL_PORT=${API_LOCAL_PORT:-8080}
AGENT_LOCAL_PORT=${AGENT_LOCAL_PORT:-8081}
RUN_DIR=${RUN_DIR:-$ROOT/var/run}
DRY_RUN=${DRY_RUN:-0}
ID=${ID:-}
AT=${AT:-}
OFFLINE=${OFFLINE:-0}
FROM=${FROM:-local}
API_URL="http://127.0.0.1:$API_LOCAL_PORT"
AGENT_URL="http://127.0.0.1:$AGENT_LOCAL_PORT"
ID_PATTERN='^(latest|app-[0-9]{9,11}(-[0-9]{1,4})?(\.db)?)$'
AT_PATTERN='^([0-9]{9,11}|[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,9})?)?(Z|[+-][0-9]{2}:?[0-9]{2}))$'
SUSPENDED_BY=pra-kit/suspended-by

# Timeouts, one place for every path (the environment can shorten them, the tests do).
POLL=${POLL:-1}                           # seconds between two looks at the cluster
GONE_TIMEOUT=${GONE_TIMEOUT:-120}         # scale to 0 -> the api pod is gone
START_TIMEOUT=${START_TIMEOUT:-300}       # scale to 1 -> the API's process answers /health
READY_GRACE=${READY_GRACE:-30}            # then, how long to wait for /ready before saying why not
BACKUP_JOB_TIMEOUT=${BACKUP_JOB_TIMEOUT:-120}
# The restore Job's own deadline (Kubernetes stops it then), plus a minute to see it stopped.
JOB_DEADLINE=$(sed -n 's/^  activeDeadlineSeconds: *\([0-9][0-9]*\).*/\1/p' "$JOB_FILE")
RESTORE_TIMEOUT=${RESTORE_TIMEOUT:-$((${JOB_DEADLINE:-600} + 60))}

case $OVERLAY in
  base) K8S_DIR=deploy/k8s/base ;;
  cronjob | minio | monitoring | auto-restore) K8S_DIR=deploy/k8s/overlays/$OVERLAY ;;
  *) K8S_DIR="" ;;
esac
KFLAGS=(-n "$NS")
[[ -z $KUBE_CONTEXT ]] || KFLAGS+=(--context "$KUBE_CONTEXT")

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf '\nworkshop: %s\n' "$*" >&2
  exit 1
}
# Shell-quotes the arguments that need it, so a printed command can be pasted as it is.
quote() {
  local a out=()
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_./:=@%+,-]+$ ]]; then out+=("$a"); else out+=("'${a//\'/\'\\\'\'}'"); fi
  done
  printf '%s' "${out[*]}"
}
# Prints a command, then runs it (unless DRY_RUN=1).
run() {
  printf '+ %s\n' "$(quote "$@")"
  [[ $DRY_RUN == 1 ]] || "$@"
}
k() { run "$KUBECTL" "${KFLAGS[@]}" "$@"; }
# Read-only queries: not printed, not skipped by DRY_RUN (they fail quietly without a cluster).
q() { "$KUBECTL" "${KFLAGS[@]}" "$@" 2>/dev/null; }
has() { [[ -n $(q get "$1" "$2" -o name) ]]; }
need() { [[ $DRY_RUN == 1 ]] || command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }
json() { # json EXPR < JSON: evaluates a JS expression on the parsed input `d` (Node is a prerequisite)
  node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{let d;try{d=JSON.parse(s)}catch{d=null}const r=('"$1"');process.stdout.write(typeof r==="string"?r:JSON.stringify(r))})'
}
curl_json() { curl -fsS --max-time 10 "$@"; }
count() { curl_json "$API_URL/count" | json 'd.count'; }
sidecar_mode() { has service "$AGENT_SERVICE"; }
# The agent follows the WAL (continuous replication): its /health/backups says so.
replicating() { [[ $(curl_json "$AGENT_URL/health/backups" 2>/dev/null | json 'd?.replication?.state') == following ]]; }
cronjob_exists() { has cronjob "$CRONJOB"; }
token() { q get secret "$TOKEN_SECRET" -o jsonpath="{.data.$TOKEN_KEY}" | base64 -d; }
check_point() {
  [[ -z $ID || $ID =~ $ID_PATTERN ]] || die "ID=$ID is not a backup id (app-<unix-seconds>, see make backups) nor latest"
  [[ -z $AT || $AT =~ $AT_PATTERN ]] ||
    die "AT=$AT is not an instant: give ISO-8601 with a zone (2026-11-30T10:41:07Z) or unix seconds"
  [[ -z $ID || -z $AT ]] || die "give ID= or AT=, not both (ID=$ID AT=$AT)"
  [[ $FROM == local || $FROM == s3 ]] || die "FROM=$FROM: local or s3"
}
point_name() { # id at
  if [[ -n $1 ]]; then echo "backup $1"; elif [[ -n $2 ]]; then echo "the state at $2"; else echo "the newest restorable point"; fi
}
printed_kubectl() { printf 'kubectl -n %s%s' "$NS" "${KUBE_CONTEXT:+ --context $KUBE_CONTEXT}"; }

# --- waiting for the API ------------------------------------------------------------------------

# One line about the api pods: "<pods> <started> <ready> <why not, if any>". A pod counts once it
# is not being deleted; started = the API's process answered its startup probe (/health).
# shellcheck disable=SC2016 # JavaScript template literals
api_pods() {
  q get pods -l "$API_SELECTOR" -o json | json '(() => {
    const pods = (d?.items ?? []).filter((p) => !p.metadata.deletionTimestamp);
    const api = (p) => (p.status.containerStatuses ?? []).find((c) => c.name === "'"$API_CONTAINER"'");
    const started = pods.filter((p) => api(p)?.started === true).length;
    const ready = pods.filter((p) => (p.status.conditions ?? []).some((c) => c.type === "Ready" && c.status === "True")).length;
    const why = pods.flatMap((p) => {
      const waiting = [...(p.status.initContainerStatuses ?? []), ...(p.status.containerStatuses ?? [])]
        .filter((c) => c.state?.waiting?.reason && c.state.waiting.reason !== "PodInitializing")
        .map((c) => `${c.name}: ${c.state.waiting.reason}${c.state.waiting.message ? ` (${c.state.waiting.message})` : ""}`);
      const unscheduled = (p.status.conditions ?? []).find((c) => c.type === "PodScheduled" && c.status === "False");
      return [...waiting, ...(unscheduled ? [`not scheduled: ${unscheduled.message}`] : [])];
    });
    return [pods.length, started, ready, why.join("; ")].join(" ");
  })()'
}

# After a scale to 0: the pod is gone, so nothing has the database open any more.
wait_api_gone() {
  if [[ $DRY_RUN == 1 || -n $(q get pods -l "$API_SELECTOR" -o name) ]]; then
    # (kubectl fails a wait that finds no pod: gone before the wait started is gone too)
    if ! k wait --for=delete pod -l "$API_SELECTOR" --timeout="${GONE_TIMEOUT}s" &&
      [[ $DRY_RUN != 1 && -n $(q get pods -l "$API_SELECTOR" -o name) ]]; then
      die "the api pod is still there ${GONE_TIMEOUT}s after the scale to 0. Nothing was restored; the Deployment is at 0 replicas: make start brings it back"
    fi
  fi
}

# Waits until the API's process runs (its startup probe passed), not until it is ready: after a
# volume loss the API answers 503 DATABASE_MISSING on purpose, and that is what you must see.
wait_api_started() {
  [[ $DRY_RUN == 1 ]] && return 0
  printf '+ %s wait until the API answers /health (pod started, up to %ss)\n' "$(printed_kubectl)" "$START_TIMEOUT"
  local deadline=$((SECONDS + START_TIMEOUT)) state pods started why=""
  while ((SECONDS < deadline)); do
    state=$(api_pods)
    read -r pods started _ why <<<"$state"
    ((pods > 0 && started == pods)) && return 0
    sleep "$POLL"
  done
  die "the API has not started within ${START_TIMEOUT}s${why:+: $why} (kubectl -n $NS describe pod -l $API_SELECTOR)"
}

# Says whether the API is ready, and why not, without waiting for it for long.
report_ready() {
  [[ $DRY_RUN == 1 ]] && return 0
  local deadline=$((SECONDS + READY_GRACE)) pods started ready why answer
  while :; do
    read -r pods started ready why <<<"$(api_pods)"
    if ((pods > 0 && ready == pods)); then
      note "the API is ready"
      return 0
    fi
    ((SECONDS < deadline)) || break
    sleep "$POLL"
  done
  answer=$(q exec "deploy/$DEPLOYMENT" -c "$API_CONTAINER" -- node -e \
    "fetch('http://127.0.0.1:$API_PORT/ready').then(async (r) => console.log(r.status, await r.text())).catch((e) => console.log(e.message))" || true)
  note "the API runs but is not ready: /ready answers ${answer:-nothing}"
  if [[ $answer == *DATABASE_MISSING* ]]; then
    note "its database is missing (the volume was lost?): restore one, make restore (make backups lists them)"
  fi
}

# --- cluster, images, deploy ---------------------------------------------------------------------

cmd_cluster() {
  need k3d "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash"
  if [[ $DRY_RUN != 1 ]] && k3d cluster get "$CLUSTER" >/dev/null 2>&1; then
    if [[ $(k3d cluster list "$CLUSTER" -o json | json '(() => { const c = d?.[0] ?? {}; return (c.serversRunning ?? 0) < (c.serversCount ?? 1) ? "stopped" : "running"; })()') == running ]]; then
      say "k3d cluster $CLUSTER is running"
      echo "cluster: nothing changed"
    else
      say "k3d cluster $CLUSTER exists but is stopped: starting it"
      run k3d cluster start "$CLUSTER" --wait
    fi
  else
    say "creating the k3d cluster $CLUSTER: 1 server + 2 agents"
    run k3d cluster create "$CLUSTER" --servers 1 --agents 2 --wait
  fi
  run "$KUBECTL" ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} wait --for=condition=Ready nodes --all --timeout=180s
  run "$KUBECTL" ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} get nodes
}

# What identifies an image on both sides: the id when the two stores agree on it (Docker's classic
# store and containerd both give the config digest), else the build's own labels (Docker's
# containerd store gives the manifest digest as the id, so ids never match there).
local_image() { # image -> "id created revision"
  docker image inspect --format '{{.Id}} {{index .Config.Labels "org.opencontainers.image.created"}} {{index .Config.Labels "org.opencontainers.image.revision"}}' "$1" 2>/dev/null
}
node_image() { # node image -> "id created revision" or nothing
  docker exec "$1" crictl inspecti -o json "docker.io/$2" 2>/dev/null | json '(() => {
    const l = d?.info?.imageSpec?.config?.Labels ?? {};
    return d?.status?.id ? [d.status.id, l["org.opencontainers.image.created"] ?? "", l["org.opencontainers.image.revision"] ?? ""].join(" ") : "";
  })()' || true
}
same_image() { # "id created revision" x2
  local id1 c1 r1 id2 c2 r2
  read -r id1 c1 r1 <<<"$1"
  read -r id2 c2 r2 <<<"$2"
  [[ -n $id2 ]] || return 1
  [[ $id1 == "$id2" ]] && return 0
  [[ -n $c1 && $c1 != '<no value>' && $c1 == "$c2" && $r1 == "$r2" ]]
}

cmd_import() {
  need k3d "see make cluster"
  need docker "Docker runs the k3d nodes"
  local images=("$API_IMAGE:$TAG" "$AGENT_IMAGE:$TAG") stale=() nodes=() image want node
  if [[ $DRY_RUN != 1 ]]; then
    mapfile -t nodes < <(docker ps --filter "label=k3d.cluster=$CLUSTER" --format '{{.Names}} {{.Label "k3d.role"}}' |
      awk '$2 == "server" || $2 == "agent" { print $1 }')
    ((${#nodes[@]} > 0)) || die "no running node in k3d cluster $CLUSTER: make cluster"
    for image in "${images[@]}"; do
      want=$(local_image "$image") || die "$image is not in the local Docker: build it first (make image)"
      for node in "${nodes[@]}"; do
        if ! same_image "$want" "$(node_image "$node" "$image")"; then
          stale+=("$image")
          break
        fi
      done
    done
    if ((${#stale[@]} == 0)); then
      say "every node of $CLUSTER already has ${images[*]} (same build): nothing to import"
      echo "import: nothing changed"
      return 0
    fi
  else
    stale=("${images[@]}")
  fi
  say "importing ${stale[*]} into every node of $CLUSTER (no registry)"
  run k3d image import "${stale[@]}" --cluster "$CLUSTER"
  if has deployment "$DEPLOYMENT"; then
    say "restarting the api pod so it runs the imported images (same tag, new content)"
    k rollout restart "deployment/$DEPLOYMENT"
    wait_api_started
    report_ready
  fi
}

cmd_deploy() {
  [[ -n $K8S_DIR ]] || die "OVERLAY=$OVERLAY: base, cronjob, minio, monitoring or auto-restore"
  local manifest_tag out changed=0
  manifest_tag=$(sed -n "\#name: $API_IMAGE\$#{n;s/.*newTag: *\"\{0,1\}\([^\"]*\)\"\{0,1\}/\1/p}" deploy/k8s/base/kustomization.yaml)
  [[ $manifest_tag == "$TAG" ]] ||
    die "TAG=$TAG but the manifests deploy $manifest_tag: set newTag in deploy/k8s/base/kustomization.yaml and the image of $JOB_FILE"
  say "generating the credentials once (gitignored files; never overwritten)"
  out=$(run deploy/k8s/generate-secrets.sh)
  printf '%s\n' "$out"
  [[ $out != *created* ]] || changed=1
  say "applying $K8S_DIR (namespace $NS)"
  out=$(run "$KUBECTL" ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} apply -k "$K8S_DIR")
  printf '%s\n' "$out"
  grep -qE ' (created|configured)$' <<<"$out" && changed=1
  # apply never deletes: drop what the other mode left behind (two agents would both back up)
  if [[ $OVERLAY == cronjob ]] && has service "$AGENT_SERVICE"; then
    note "CronJob mode: removing the sidecar's Service left from the sidecar mode"
    k delete service "$AGENT_SERVICE"
    changed=1
  elif [[ $OVERLAY != cronjob ]] && cronjob_exists; then
    note "sidecar mode: removing the CronJob left from the CronJob mode"
    k delete cronjob "$CRONJOB"
    changed=1
  fi
  if [[ $DRY_RUN == 1 || $(q get deployment "$DEPLOYMENT" -o jsonpath='{.spec.replicas}') != 0 ]]; then
    wait_api_started
    report_ready
  else
    note "deployment/$DEPLOYMENT is scaled to 0 (a restore was interrupted?): make start brings it back"
  fi
  if [[ $OVERLAY == minio ]]; then
    k rollout status deployment/minio --timeout="${START_TIMEOUT}s" ||
      die "MinIO is not ready after ${START_TIMEOUT}s: kubectl -n $NS describe pod -l app.kubernetes.io/name=minio"
  fi
  k get pods,pvc,svc
  if ((changed)); then echo "deploy: objects created or changed"; else echo "deploy: nothing changed"; fi
}

# --- port-forwards --------------------------------------------------------------------------------

stop_forwards() {
  local name pid i
  for name in api agent; do
    [[ -f $RUN_DIR/forward-$name.pid ]] || continue
    pid=$(cat "$RUN_DIR/forward-$name.pid")
    # only our own kubectl port-forward, never whatever reused the pid
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q 'port-forward'; then
      run kill "$pid"
      # wait until it is gone, so its port is free for the next forward
      for ((i = 0; i < 30; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -f "$RUN_DIR/forward-$name.pid"
  done
}

start_forward() { # name service local-port
  local name=$1 service=$2 port=$3
  printf '+ %s port-forward svc/%s %s:%s >%s 2>&1 &\n' "$(printed_kubectl)" "$service" "$port" "$SERVICE_PORT" "$RUN_DIR/forward-$name.log"
  [[ $DRY_RUN == 1 ]] && return 0
  nohup "$KUBECTL" "${KFLAGS[@]}" port-forward "svc/$service" "$port:$SERVICE_PORT" >"$RUN_DIR/forward-$name.log" 2>&1 &
  echo $! >"$RUN_DIR/forward-$name.pid"
}

# Waits until a forward answers /health. A forward that cannot bind its port (make dev is on
# 8080?) exits at once, while whatever holds the port may answer: check that ours still runs.
wait_forward() { # name url
  [[ $DRY_RUN == 1 ]] && return 0
  local pid log=$RUN_DIR/forward-$1.log deadline=$((SECONDS + 30))
  pid=$(cat "$RUN_DIR/forward-$1.pid")
  sleep 0.5
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || die "the $1 port-forward stopped: $(tail -n 1 "$log") (is the port taken, by make dev?)"
    curl -fsS --max-time 2 "$2/health" >/dev/null 2>&1 && return 0
    sleep 0.5
  done
  die "nothing answers on $2/health (see $log)"
}

cmd_forward() {
  mkdir -p "$RUN_DIR"
  say "port-forwarding the API to $API_URL$(sidecar_mode && echo " and the agent to $AGENT_URL") (restarting old forwards)"
  stop_forwards
  wait_api_started
  start_forward api "$API_SERVICE" "$API_LOCAL_PORT"
  if sidecar_mode || [[ $DRY_RUN == 1 ]]; then start_forward agent "$AGENT_SERVICE" "$AGENT_LOCAL_PORT"; fi
  wait_forward api "$API_URL"
  if sidecar_mode; then wait_forward agent "$AGENT_URL"; fi
  note "API:   $API_URL   (/, /health, /ready, /add?message=..., /count, /consultation, /status, /metrics)"
  if sidecar_mode; then note "agent: $AGENT_URL   (/health, /ready, /backups, /metrics)"; fi
  note "logs:  $RUN_DIR/forward-*.log; stop: make unforward"
}

cmd_unforward() {
  say "stopping the port-forwards"
  stop_forwards
}

# The forwards die with the pod they point to: restart them when the API does not answer.
ensure_forward() {
  [[ $DRY_RUN == 1 ]] && return 0
  if ! curl -fsS --max-time 2 "$API_URL/health" >/dev/null 2>&1 ||
    { sidecar_mode && ! curl -fsS --max-time 2 "$AGENT_URL/health" >/dev/null 2>&1; }; then
    cmd_forward
  fi
}

# --- backups --------------------------------------------------------------------------------------

# Runs the agent's CLI in a one-off pod (CronJob mode has no agent server): make backups there.
agent_cli() {
  local overrides
  overrides=$(
    cat <<EOF
{"spec":{"enableServiceLinks":false,"automountServiceAccountToken":false,
 "securityContext":{"runAsNonRoot":true,"runAsUser":$APP_UID,"runAsGroup":$APP_UID,"fsGroup":$APP_UID,"seccompProfile":{"type":"RuntimeDefault"}},
 "containers":[{"name":"agent","image":"$AGENT_IMAGE:$TAG","imagePullPolicy":"IfNotPresent","args":$(node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' "$@"),
  "env":[{"name":"DB_PATH","value":"$DB_PATH"},{"name":"BACKUP_DIR","value":"$BACKUP_DIR"}],
  "securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}},
  "volumeMounts":[{"name":"data","mountPath":"$(dirname "$DB_PATH")"},{"name":"backup","mountPath":"$BACKUP_DIR"},{"name":"tmp","mountPath":"/tmp"}]}],
 "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"$DATA_PVC"}},{"name":"backup","persistentVolumeClaim":{"claimName":"$BACKUP_PVC"}},{"name":"tmp","emptyDir":{}}]}}
EOF
  )
  k run "agent-cli-$(date +%s)" --rm -i --quiet --restart=Never --image="$AGENT_IMAGE:$TAG" --overrides="$overrides"
}

print_backups() {
  local table
  table=$(json '(l=>Array.isArray(l)?["ID\tCREATED (UTC)\tROWS\tBYTES\tCHECK\tOFFSITE",...l.map(b=>[b.id,b.created_at,b.rows,b.size,
    b.verified===false||b.verification?.ok===false?"NOT-VERIFIED":"verified",
    typeof b.offsite==="object"&&b.offsite?b.offsite.state??"":b.offsite??"-"].join("\t"))].join("\n"):JSON.stringify(l,null,2))(d.backups??d)')
  if command -v column >/dev/null 2>&1; then column -t -s $'\t' <<<"$table"; else printf '%s\n' "$table"; fi
}

cmd_backups() {
  if sidecar_mode || [[ $DRY_RUN == 1 ]]; then
    ensure_forward
    say "restore points, newest first (the agent's GET /backups)"
    printf '+ curl -s %s/backups\n' "$AGENT_URL"
    [[ $DRY_RUN == 1 ]] || curl_json "$AGENT_URL/backups" | print_backups
  else
    say "restore points, newest first (CronJob mode: the agent's CLI \"list\" in a one-off pod)"
    agent_cli list
  fi
}

print_token_command() {
  printf "+ TOKEN=\$(%s get secret %s -o jsonpath='{.data.%s}' | base64 -d)\n" "$(printed_kubectl)" "$TOKEN_SECRET" "$TOKEN_KEY"
}

cmd_backup() {
  if sidecar_mode || [[ $DRY_RUN == 1 ]]; then
    ensure_forward
    say "taking a backup now (POST /backups; the token is read from the Secret $TOKEN_SECRET)"
    print_token_command
    # shellcheck disable=SC2016 # $TOKEN is printed, for the reader to run
    printf '+ curl -s -X POST -H "Authorization: Bearer $TOKEN" %s/backups\n' "$AGENT_URL"
    [[ $DRY_RUN == 1 ]] || { curl_json -X POST -H "Authorization: Bearer $(token)" "$AGENT_URL/backups" && echo; }
  else
    local job
    job=$CRONJOB-manual-$(date +%s)
    say "taking a backup now (CronJob mode: a Job from the CronJob)"
    k create job "$job" --from="cronjob/$CRONJOB"
    k wait --for=condition=complete "job/$job" --timeout="${BACKUP_JOB_TIMEOUT}s" ||
      { k logs "job/$job" || true; die "the backup Job $job did not complete in ${BACKUP_JOB_TIMEOUT}s (its log is above)"; }
    k logs "job/$job"
  fi
}

# --- stop, start, volumes -------------------------------------------------------------------------

# Suspends the backup CronJob and marks it, so that start resumes it (and only it) later, even
# from another process or after a failure.
suspend_cronjob() {
  if [[ $DRY_RUN == 1 ]] || { cronjob_exists && [[ $(q get cronjob "$CRONJOB" -o jsonpath='{.spec.suspend}') != true ]]; }; then
    k patch cronjob "$CRONJOB" -p "{\"metadata\":{\"annotations\":{\"$SUSPENDED_BY\":\"runbook\"}},\"spec\":{\"suspend\":true}}"
  fi
  if [[ $DRY_RUN != 1 ]] && cronjob_exists; then
    # a backup that started before the suspend holds the database open: let it finish (<= 55 s)
    local deadline=$((SECONDS + 90))
    while [[ -n $(q get pods -l "app.kubernetes.io/name=$CRONJOB" -o jsonpath='{range .items[?(@.status.phase=="Running")]}{.metadata.name}{end}{range .items[?(@.status.phase=="Pending")]}{.metadata.name}{end}') ]]; do
      ((SECONDS < deadline)) || die "a backup Job still runs 90 s after the CronJob was suspended: kubectl -n $NS get jobs"
      sleep "$POLL"
    done
  fi
}
resume_cronjob() {
  if [[ $DRY_RUN == 1 ]] || { cronjob_exists && [[ -n $(q get cronjob "$CRONJOB" -o jsonpath="{.metadata.annotations.$SUSPENDED_BY}") ]]; }; then
    k patch cronjob "$CRONJOB" -p "{\"metadata\":{\"annotations\":{\"$SUSPENDED_BY\":null}},\"spec\":{\"suspend\":false}}"
  fi
}

cmd_stop() {
  say "stopping the API (scale to 0) and the scheduled backups: nothing may have the database open"
  suspend_cronjob
  k scale deployment "$DEPLOYMENT" --replicas=0
  wait_api_gone
}

cmd_start() {
  say "starting the API again (scale to 1)"
  k scale deployment "$DEPLOYMENT" --replicas=1
  wait_api_started
  resume_cronjob
  report_ready
}

cmd_kill_pod() {
  local pods
  pods=$(q get pods -l "$API_SELECTOR" -o name | sed 's#^pod/##' | tr '\n' ' ')
  [[ $DRY_RUN == 1 || -n ${pods// /} ]] || die "no api pod to delete"
  # shellcheck disable=SC2086 # one pod name per word
  k delete pod ${pods:-"<api-pod>"} --wait=false
}

cmd_delete_volume() { # name
  local name=${1:-}
  [[ $name == "$DATA_PVC" || $name == "$BACKUP_PVC" ]] || die "delete-volume $name: $DATA_PVC or $BACKUP_PVC"
  # Deleted now; Kubernetes finishes once no pod uses it (the API's pod, until it is stopped).
  k delete pvc "$name" --wait=false
}

# Recreates pra-data and pra-backup when they are missing (and waits for a deleted one to be gone
# first); applying an existing claim changes nothing.
recreate_volumes() {
  local pvc
  for pvc in "$DATA_PVC" "$BACKUP_PVC"; do
    if [[ $DRY_RUN == 1 || -n $(q get pvc "$pvc" -o jsonpath='{.metadata.deletionTimestamp}') ]]; then
      k wait --for=delete "pvc/$pvc" --timeout="${GONE_TIMEOUT}s" ||
        die "pvc/$pvc is still being deleted after ${GONE_TIMEOUT}s: a pod still uses it (kubectl -n $NS describe pvc $pvc)"
    fi
  done
  if [[ $DRY_RUN == 1 ]] || ! has pvc "$DATA_PVC" || ! has pvc "$BACKUP_PVC"; then
    [[ -n $K8S_DIR ]] || die "OVERLAY=$OVERLAY: base, cronjob, minio, monitoring or auto-restore"
    run "$KUBECTL" ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} apply -k "$K8S_DIR" -l 'app.kubernetes.io/component in (data,backup)'
  fi
}

# --- the restore Job ------------------------------------------------------------------------------

# Renders deploy/k8s/jobs/restore.yaml for a restore point, offline. `kubectl set env --local`
# prints nothing when no value changes: with neither ID nor AT, the file as it is already says
# "the newest point". FROM=s3 adds `--from s3` and the agent's S3 settings (read from the running
# Deployment). Fails, printing why, when the result is not the Job.
render_restore_job() { # id at -> the manifest on stdout
  local id=$1 at=$2 sets=() out
  [[ -z $id ]] || sets+=("BACKUP_ID=$id")
  [[ -z $at ]] || sets+=("BACKUP_AT=$at")
  if ((${#sets[@]} == 0)); then
    out=$(cat "$JOB_FILE")
  else
    out=$("$KUBECTL" set env --local -o yaml -f "$JOB_FILE" "${sets[@]}") || return 1
  fi
  if [[ $FROM == s3 ]]; then
    local agent job
    # the running Deployment, or DEPLOYMENT_JSON (a file) where there is no cluster (CI under Podman)
    agent=$({ if [[ -n ${DEPLOYMENT_JSON:-} ]]; then cat "$DEPLOYMENT_JSON"; else q get deployment "$DEPLOYMENT" -o json; fi; } | json '(() => {
      const s = d?.spec?.template?.spec ?? {};
      return [...(s.initContainers ?? []), ...(s.containers ?? [])].find((c) => c.name === "'"$AGENT_CONTAINER"'") ?? null;
    })()')
    [[ $agent != null && -n $agent ]] || { echo "no $AGENT_CONTAINER container in deployment/$DEPLOYMENT: FROM=s3 needs the sidecar's settings" >&2; return 1; }
    job=$("$KUBECTL" patch --local -f - --type=json -p '[]' -o json <<<"$out") || return 1
    out=$(AGENT=$agent json '(() => {
      const agent = JSON.parse(process.env.AGENT);
      const c = d.spec.template.spec.containers[0];
      c.args = [...c.args, "--from", "s3"];
      const own = new Set(c.env.map((e) => e.name));
      c.env = [...c.env, ...(agent.env ?? []).filter((e) => !own.has(e.name))];
      c.envFrom = [...(c.envFrom ?? []), ...(agent.envFrom ?? [])];
      return JSON.stringify(d, null, 2);
    })()' <<<"$job")
  fi
  # A mistake here must stop everything before anything changes.
  grep -q "name: $RESTORE_JOB\|\"name\": \"$RESTORE_JOB\"" <<<"$out" || { echo "the rendered restore Job is empty" >&2; return 1; }
  printf '%s\n' "$out"
}

# The command a person types for what render_restore_job does.
restore_job_command() { # id at
  local sets=()
  [[ -z $1 ]] || sets+=("BACKUP_ID=$1")
  [[ -z $2 ]] || sets+=("BACKUP_AT=$2")
  if ((${#sets[@]} == 0)); then
    printf '%s apply -f %s' "$KUBECTL" "$JOB_FILE"
  else
    printf '%s set env --local -o yaml -f %s %s | %s apply -f -' "$KUBECTL" "$JOB_FILE" "$(quote "${sets[@]}")" "$KUBECTL"
  fi
  [[ $FROM != s3 ]] || printf '   (plus --from s3 and the S3 settings of the %s container)' "$AGENT_CONTAINER"
}

# "complete", "failed <reason>" or "active <pod state>"; "absent" when there is no Job.
# shellcheck disable=SC2016 # JavaScript template literals
job_state() {
  local job pods
  job=$(q get job "$RESTORE_JOB" -o json) || { echo absent; return 0; }
  pods=$(q get pods -l "job-name=$RESTORE_JOB" -o json || echo '{}')
  JOB=$job json '(() => {
    const job = JSON.parse(process.env.JOB);
    const conds = (job.status?.conditions ?? []).filter((c) => c.status === "True");
    const active = (d?.items ?? []).filter((p) => p.status.phase !== "Succeeded" && p.status.phase !== "Failed");
    const describe = (p) => {
      const c = (p.status.containerStatuses ?? [])[0];
      const waiting = c?.state?.waiting;
      const unscheduled = (p.status.conditions ?? []).find((x) => x.type === "PodScheduled" && x.status === "False");
      return `pod ${p.metadata.name} ${p.status.phase}` + (waiting ? ` (${waiting.reason}${waiting.message ? ": " + waiting.message : ""})` : "") +
        (unscheduled ? ` (not scheduled: ${unscheduled.message})` : "") + (p.metadata.deletionTimestamp ? " (being deleted)" : "");
    };
    if (conds.some((c) => c.type === "Complete")) return "complete";
    if (conds.some((c) => c.type === "Failed") && active.length === 0)
      return "failed " + (conds.find((c) => c.type === "Failed").reason ?? "");
    return "active " + (active.map(describe).join("; ") || "no pod yet");
  })()' <<<"$pods"
}

# With the API stopped: recreate missing volumes, run the Job, wait for it. Exit status: 0 the
# restore is done; 1 it failed and its pod has stopped (the database is as it was: the agent only
# renames a verified copy over it); 3 it has not finished (the API must stay stopped).
run_restore_job() { # manifest command
  local manifest=$1 command=$2 state deadline
  if [[ $DRY_RUN != 1 && -n $(q get pods -l "$API_SELECTOR" -o name) ]]; then
    echo "the API still runs: the offline restore needs it stopped (make stop)" >&2
    return 1
  fi
  recreate_volumes
  k delete job "$RESTORE_JOB" --ignore-not-found --wait=true --cascade=foreground --timeout="${GONE_TIMEOUT}s" || {
    echo "the previous Job $RESTORE_JOB could not be deleted" >&2
    return 1
  }
  printf '+ %s\n' "$command"
  if [[ $DRY_RUN != 1 ]]; then
    "$KUBECTL" ${KUBE_CONTEXT:+--context "$KUBE_CONTEXT"} apply -f - <<<"$manifest" || return 1
  fi
  printf '+ %s wait --for=condition=complete job/%s --timeout=%ss\n' "$(printed_kubectl)" "$RESTORE_JOB" "$RESTORE_TIMEOUT"
  [[ $DRY_RUN == 1 ]] && return 0
  deadline=$((SECONDS + RESTORE_TIMEOUT))
  while :; do
    state=$(job_state)
    case $state in complete | failed*) break ;; esac
    if ((SECONDS >= deadline)); then break; fi
    sleep "$POLL"
  done
  k logs "job/$RESTORE_JOB" || true
  case $state in
    complete) return 0 ;;
    failed*)
      echo "the restore Job failed (${state#failed }): its log is above" >&2
      return 1
      ;;
    *)
      echo "the restore Job has not finished after ${RESTORE_TIMEOUT}s: ${state#active }" >&2
      return 3
      ;;
  esac
}

# Prints the restore Job as restore-job would apply it (ID, AT, FROM), changing nothing.
cmd_render_restore_job() {
  check_point
  render_restore_job "$ID" "$AT" || die "the restore Job could not be rendered"
}

cmd_restore_job() {
  check_point
  local manifest status=0
  say "restore Job $RESTORE_JOB: $(point_name "$ID" "$AT")$([[ $FROM == s3 ]] && echo ", from the offsite copy")"
  manifest=$(render_restore_job "$ID" "$AT") || die "the restore Job could not be rendered: nothing was changed"
  run_restore_job "$manifest" "$(restore_job_command "$ID" "$AT")" || status=$?
  ((status == 0)) || die "restore-job: the restore did not complete (see above); the API was not started"
}

# The whole offline procedure. Whatever happens, the API is never started while the Job may still
# be writing the database; when the Job has stopped, the API comes back on whatever the volume holds.
restore_offline() { # id at
  local id=$1 at=$2 manifest status=0
  say "offline restore of $(point_name "$id" "$at") with the Job $RESTORE_JOB (the API is stopped meanwhile)"
  manifest=$(render_restore_job "$id" "$at") || die "the restore Job could not be rendered: nothing was changed"
  cmd_stop
  run_restore_job "$manifest" "$(restore_job_command "$id" "$at")" || status=$?
  if ((status == 3)); then
    die "$(
      cat <<EOF
the restore Job has not finished, so the API stays stopped: starting it now could open a database
that is being replaced. State now: deployment/$DEPLOYMENT at 0 replicas$(cronjob_exists && echo ", CronJob $CRONJOB suspended"), Job $RESTORE_JOB $(job_state).
Look:      kubectl -n $NS describe job/$RESTORE_JOB; kubectl -n $NS logs job/$RESTORE_JOB
Then:      once it has completed (or after kubectl -n $NS delete job $RESTORE_JOB), make start
EOF
    )"
  fi
  say "bringing the API back"
  cmd_start
  ((status == 0)) || die "the restore did not complete (see above): the API runs on the database the volume had"
}

restore_online() { # id at
  local id=$1 at=$2 path
  if [[ -n $at ]]; then path="restore?at=$(node -p 'encodeURIComponent(process.argv[1])' "$at")"; else path="restore/${id:-latest}"; fi
  ensure_forward
  say "online restore of $(point_name "$id" "$at") through the agent (POST /$path): the API keeps serving"
  print_token_command
  # shellcheck disable=SC2016 # $TOKEN is printed, for the reader to run
  printf '+ curl -s -X POST -H "Authorization: Bearer $TOKEN" "%s/%s"\n' "$AGENT_URL" "$path"
  [[ $DRY_RUN == 1 ]] || { curl_json -X POST -H "Authorization: Bearer $(token)" "$AGENT_URL/$path" && echo; }
}

cmd_restore() {
  check_point
  if [[ $OFFLINE == 1 || $FROM == s3 ]] || ! { sidecar_mode || [[ $DRY_RUN == 1 ]]; }; then
    restore_offline "$ID" "$AT"
  else
    restore_online "$ID" "$AT"
  fi
  if [[ $DRY_RUN != 1 ]]; then
    ensure_forward
    note "count now: $(count)"
  fi
}

# --- the workshop's scenarios ---------------------------------------------------------------------

cmd_pca() {
  ensure_forward
  say "scenario 1 (PCA): the api pod dies; Kubernetes recreates it on the same volume"
  printf '+ curl -s "%s/add?message=pca-drill"\n' "$API_URL"
  [[ $DRY_RUN == 1 ]] || { curl_json "$API_URL/add?message=pca-drill-$(date +%s)" && echo; }
  local before="?" after="?" start
  [[ $DRY_RUN == 1 ]] || before=$(count)
  note "count before: $before"
  k get pods -l "$API_SELECTOR" -o wide
  start=$SECONDS
  cmd_kill_pod
  [[ $DRY_RUN == 1 ]] || sleep 1
  wait_api_started
  report_ready
  k get pods -l "$API_SELECTOR" -o wide
  [[ $DRY_RUN == 1 ]] || { cmd_forward >/dev/null && after=$(count); }
  note "count after:  $after   (service back in $((SECONDS - start)) s)"
  [[ $DRY_RUN == 1 || $before == "$after" ]] || die "PCA: the count changed ($before -> $after)"
  [[ $DRY_RUN == 1 ]] || note "PCA: nothing lost. The pod is new, the volume $DATA_PVC is the same."
}

cmd_pra() {
  check_point
  ensure_forward
  say "scenario 2 (PRA): the data volume $DATA_PVC is lost; restore from $BACKUP_PVC"
  local before="?" point=$ID rows="?" after="?" manifest status=0
  if [[ $DRY_RUN != 1 ]]; then
    before=$(count)
    if [[ -z $point && -z $AT ]] && sidecar_mode && replicating; then
      # Continuous replication: the newest restorable instant is every write the agent shipped
      # before the pod stopped (it ships what is committed when it stops). A snapshot id would
      # give back up to an hour less.
      rows=$before
      note "continuous replication: every write shipped by the agent until the API stops comes back"
    elif [[ -z $point && -z $AT ]] && sidecar_mode; then
      # Pin the restore point now: once the volume is gone, "latest" could become a backup of the
      # new, empty database (the agent backs up when it starts).
      local latest
      latest=$(curl_json "$AGENT_URL/backups/latest")
      point=$(json 'd.id' <<<"$latest")
      rows=$(json 'd.rows' <<<"$latest")
    fi
  fi
  note "count before: $before; restore point: $(point_name "$point" "$AT") ($rows rows)"
  manifest=$(render_restore_job "$point" "$AT") || die "the restore Job could not be rendered: nothing was changed"
  say "phase 1: the disaster"
  cmd_stop
  k delete pvc "$DATA_PVC" --wait=true --timeout="${GONE_TIMEOUT}s"
  say "phase 2: recovery: a new, empty $DATA_PVC, then the restore Job (the API stays stopped)"
  run_restore_job "$manifest" "$(restore_job_command "$point" "$AT")" || status=$?
  ((status != 3)) || die "the restore Job has not finished, so the API stays stopped (make status; then make start)"
  cmd_start
  ((status == 0)) || die "the restore did not complete (see above): the API runs without its data (503)"
  ensure_forward
  [[ $DRY_RUN == 1 ]] || after=$(count)
  note "count after:  $after (before the disaster: $before; in the backup: $rows)"
  if [[ $DRY_RUN != 1 && $before != "?" && $after != "?" ]]; then
    note "lost: $((before - after)) event(s) written after the restore point (the RPO)"
  fi
}

cmd_status() {
  say "cluster objects in namespace $NS"
  k get deployment,pods,pvc,svc,cronjob,job -o wide
  if [[ $DRY_RUN != 1 ]] && curl -fsS --max-time 2 "$API_URL/health" >/dev/null 2>&1; then
    say "the API's view ($API_URL/status)"
    curl_json "$API_URL/status" && echo
    curl -sS --max-time 5 "$API_URL/ready" && echo
    if sidecar_mode; then
      say "the agent's view ($AGENT_URL/ready)"
      curl -sS --max-time 5 "$AGENT_URL/ready" && echo
    fi
  else
    note "(no port-forward: make forward for /status and /ready)"
  fi
}

cmd_logs() {
  say "logs of the api pod (API and agent sidecar), last 100 lines each"
  k logs "deployment/$DEPLOYMENT" --all-containers --prefix --tail=100
  if cronjob_exists; then
    k get jobs -l "app.kubernetes.io/name=$CRONJOB"
  fi
}

cmd_down() {
  stop_forwards
  say "deleting the k3d cluster $CLUSTER (its volumes and backups go with it)"
  run k3d cluster delete "$CLUSTER"
}

usage() {
  sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'
  echo "commands: cluster import deploy forward unforward backups backup restore pca pra status logs down"
  echo "steps:    stop start kill-pod delete-volume restore-job render-restore-job"
}

main() {
  local cmd=${1:-}
  case $cmd in
    cluster | import | deploy | forward | unforward | backups | backup | restore | pca | pra | status | logs | down | \
      stop | start | kill-pod | delete-volume | restore-job | render-restore-job)
      [[ $cmd == cluster || $cmd == down || $cmd == import || $cmd == render-restore-job || $DRY_RUN == 1 ]] || need "$KUBECTL" "install kubectl (README, Environment)"
      shift
      "cmd_${cmd//-/_}" "$@"
      ;;
    -h | --help | help | "") usage ;;
    *) die "unknown command: $cmd (try --help)" ;;
  esac
}

main "$@"
