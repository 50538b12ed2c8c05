#!/usr/bin/env bash
# The workshop's steps on k3d, one command each; the Makefile's targets call them
# (make cluster, import, deploy, forward, backups, backup, restore, pca, pra, status, logs, down).
# Every command that changes or reads the cluster is printed before it runs ("+ kubectl ..."), so
# you can replay it by hand. DRY_RUN=1 prints the commands without running them.
#
# Settings (environment, the Makefile passes them): CLUSTER=pra NS=pra TAG=1.0 OVERLAY=base
# (base | cronjob | minio), ID= (a backup id, empty = latest), OFFLINE=1 (restore with the Job),
# API_LOCAL_PORT=8080 AGENT_LOCAL_PORT=8081, RUN_DIR=var/run (port-forward pids and logs).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CLUSTER=${CLUSTER:-pra}
NS=${NS:-pra}
TAG=${TAG:-1.0}
OVERLAY=${OVERLAY:-base}
KUBECTL=${KUBECTL:-kubectl}
API_LOCAL_PORT=${API_LOCAL_PORT:-8080}
AGENT_LOCAL_PORT=${AGENT_LOCAL_PORT:-8081}
RUN_DIR=${RUN_DIR:-$ROOT/var/run}
DRY_RUN=${DRY_RUN:-0}
ID=${ID:-}
OFFLINE=${OFFLINE:-0}
API_URL="http://127.0.0.1:$API_LOCAL_PORT"
AGENT_URL="http://127.0.0.1:$AGENT_LOCAL_PORT"
API_SELECTOR=app.kubernetes.io/name=api
ID_PATTERN='^(latest|app-[0-9]{9,11}(-[0-9]{1,4})?(\.db)?)$'

if [[ $OVERLAY == base ]]; then K8S_DIR=deploy/k8s/base; else K8S_DIR=deploy/k8s/overlays/$OVERLAY; fi
cd "$ROOT"

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
note() { printf '    %s\n' "$*"; }
die() {
  printf 'workshop: %s\n' "$*" >&2
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
k() { run "$KUBECTL" -n "$NS" "$@"; }
# Read-only queries: not printed, not skipped by DRY_RUN (they fail quietly without a cluster).
q() { "$KUBECTL" -n "$NS" "$@" 2>/dev/null; }
has() { q get "$1" "$2" -o name >/dev/null; }
need() { [[ $DRY_RUN == 1 ]] || command -v "$1" >/dev/null 2>&1 || die "$1 is not installed: $2"; }
json() { # json EXPR < JSON: evaluates a JS expression on the parsed input `d` (Node is a prerequisite)
  node -e 'let s="";process.stdin.on("data",c=>s+=c).on("end",()=>{const d=JSON.parse(s);const r=('"$1"');process.stdout.write(typeof r==="string"?r:JSON.stringify(r))})'
}
curl_json() { curl -fsS --max-time 10 "$@"; }
count() { curl_json "$API_URL/count" | json 'd.count'; }
sidecar_mode() { has service backup-agent; }
# Is the CronJob there and running? (DRY_RUN shows the CronJob-mode commands too.)
cron_active() { [[ $DRY_RUN == 1 || $(q get cronjob sqlite-backup -o jsonpath='{.spec.suspend}') == false ]]; }
token() { q get secret pra-backup-token -o jsonpath='{.data.token}' | base64 -d; }
check_id() {
  [[ -z $ID || $ID =~ $ID_PATTERN ]] || die "ID=$ID is not a backup id (app-<unix-seconds>, see make backups) nor latest"
}

# ------------------------------------------------------------------------------------------------

cmd_cluster() {
  need k3d "curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash"
  if [[ $DRY_RUN != 1 ]] && k3d cluster get "$CLUSTER" >/dev/null 2>&1; then
    say "k3d cluster $CLUSTER exists: starting it if stopped"
    run k3d cluster start "$CLUSTER" --wait
  else
    say "creating the k3d cluster $CLUSTER: 1 server + 2 agents"
    run k3d cluster create "$CLUSTER" --servers 1 --agents 2 --wait
  fi
  run "$KUBECTL" get nodes
}

cmd_import() {
  need k3d "see make cluster"
  say "importing pra/api:$TAG and pra/backup-agent:$TAG into every node of $CLUSTER (no registry)"
  run k3d image import "pra/api:$TAG" "pra/backup-agent:$TAG" --cluster "$CLUSTER"
  if has deployment api; then
    say "restarting the api pod so it runs the imported images (same tag, new content)"
    k rollout restart deployment/api
    k rollout status deployment/api --timeout=300s
  fi
}

cmd_deploy() {
  local manifest_tag
  manifest_tag=$(sed -n '/name: pra\/api/{n;s/.*newTag: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p}' deploy/k8s/base/kustomization.yaml)
  [[ $manifest_tag == "$TAG" ]] ||
    die "TAG=$TAG but the manifests deploy $manifest_tag: set newTag in deploy/k8s/base/kustomization.yaml and the image of deploy/k8s/jobs/restore.yaml"
  say "generating the credentials once (gitignored files; never overwritten)"
  run deploy/k8s/generate-secrets.sh
  say "applying $K8S_DIR (namespace $NS)"
  run "$KUBECTL" apply -k "$K8S_DIR"
  # apply never deletes: drop what the other mode left behind (two agents would both back up)
  if [[ $OVERLAY == cronjob ]] && has service backup-agent; then
    note "CronJob mode: removing the sidecar's Service left from the sidecar mode"
    k delete service backup-agent
  elif [[ $OVERLAY != cronjob ]] && has cronjob sqlite-backup; then
    note "sidecar mode: removing the CronJob left from the CronJob mode"
    k delete cronjob sqlite-backup
  fi
  k rollout status deployment/api --timeout=300s
  [[ $OVERLAY != minio ]] || k rollout status deployment/minio --timeout=300s
  k get pods,pvc,svc,cronjob
}

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
  printf '+ %s -n %s port-forward svc/%s %s:80 >%s 2>&1 &\n' "$KUBECTL" "$NS" "$service" "$port" "$RUN_DIR/forward-$name.log"
  [[ $DRY_RUN == 1 ]] && return 0
  nohup "$KUBECTL" -n "$NS" port-forward "svc/$service" "$port:80" >"$RUN_DIR/forward-$name.log" 2>&1 &
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
  k rollout status deployment/api --timeout=300s
  start_forward api api "$API_LOCAL_PORT"
  if sidecar_mode || [[ $DRY_RUN == 1 ]]; then start_forward agent backup-agent "$AGENT_LOCAL_PORT"; fi
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

# After scaling to 0: wait until the api pod is gone (an older kubectl fails a wait on no match).
wait_api_gone() {
  if [[ $DRY_RUN == 1 || -n $(q get pods -l "$API_SELECTOR" -o name) ]]; then
    k wait --for=delete pod -l "$API_SELECTOR" --timeout=120s
  fi
}

# Runs the agent's CLI in a one-off pod (CronJob mode has no agent server): make backups there.
agent_cli() {
  local overrides
  overrides=$(
    cat <<EOF
{"spec":{"enableServiceLinks":false,"automountServiceAccountToken":false,
 "securityContext":{"runAsNonRoot":true,"runAsUser":10001,"runAsGroup":10001,"fsGroup":10001,"seccompProfile":{"type":"RuntimeDefault"}},
 "containers":[{"name":"agent","image":"pra/backup-agent:$TAG","imagePullPolicy":"IfNotPresent","args":$(node -e 'process.stdout.write(JSON.stringify(process.argv.slice(1)))' "$@"),
  "env":[{"name":"DB_PATH","value":"/data/app.db"},{"name":"BACKUP_DIR","value":"/backup"}],
  "securityContext":{"allowPrivilegeEscalation":false,"readOnlyRootFilesystem":true,"capabilities":{"drop":["ALL"]}},
  "volumeMounts":[{"name":"data","mountPath":"/data"},{"name":"backup","mountPath":"/backup"},{"name":"tmp","mountPath":"/tmp"}]}],
 "volumes":[{"name":"data","persistentVolumeClaim":{"claimName":"pra-data"}},{"name":"backup","persistentVolumeClaim":{"claimName":"pra-backup"}},{"name":"tmp","emptyDir":{}}]}}
EOF
  )
  k run "agent-cli-$(date +%s)" --rm -i --quiet --restart=Never --image="pra/backup-agent:$TAG" --overrides="$overrides"
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

cmd_backup() {
  if sidecar_mode || [[ $DRY_RUN == 1 ]]; then
    ensure_forward
    say "taking a backup now (POST /backups; the token is read from the Secret pra-backup-token)"
    printf "+ TOKEN=\$(kubectl -n %s get secret pra-backup-token -o jsonpath='{.data.token}' | base64 -d)\n" "$NS"
    # shellcheck disable=SC2016 # $TOKEN is printed, for the reader to run
    printf '+ curl -s -X POST -H "Authorization: Bearer $TOKEN" %s/backups\n' "$AGENT_URL"
    [[ $DRY_RUN == 1 ]] || { curl_json -X POST -H "Authorization: Bearer $(token)" "$AGENT_URL/backups" && echo; }
  else
    local job
    job=sqlite-backup-manual-$(date +%s)
    say "taking a backup now (CronJob mode: a Job from the CronJob)"
    k create job "$job" --from=cronjob/sqlite-backup
    k wait --for=condition=complete "job/$job" --timeout=120s
    k logs "job/$job"
  fi
}

restore_offline() { # id (empty = latest)
  local id=$1 was_active=0
  say "offline restore of ${id:-the newest verified backup} with the Job sqlite-restore (the API is stopped meanwhile)"
  if cron_active; then
    was_active=1
    k patch cronjob sqlite-backup -p '{"spec":{"suspend":true}}'
  fi
  k scale deployment api --replicas=0
  wait_api_gone
  k delete job sqlite-restore --ignore-not-found --wait=true
  printf '+ %s set env --local -o yaml -f deploy/k8s/jobs/restore.yaml BACKUP_ID=%s | %s apply -f -\n' "$KUBECTL" "$id" "$KUBECTL"
  [[ $DRY_RUN == 1 ]] || "$KUBECTL" set env --local -o yaml -f deploy/k8s/jobs/restore.yaml "BACKUP_ID=$id" | "$KUBECTL" apply -f -
  local status=0
  printf '+ %s -n %s wait --for=condition=complete job/sqlite-restore --timeout=300s\n' "$KUBECTL" "$NS"
  if [[ $DRY_RUN != 1 ]]; then
    # returns as soon as the Job completes or fails
    for ((i = 0; i < 300; i++)); do
      [[ $(q get job sqlite-restore -o jsonpath='{.status.succeeded}') == 1 ]] && break
      [[ -n $(q get job sqlite-restore -o jsonpath='{.status.failed}') ]] && {
        status=1
        break
      }
      sleep 1
    done
  fi
  k logs job/sqlite-restore || true
  say "bringing the API back"
  k scale deployment api --replicas=1
  k rollout status deployment/api --timeout=300s
  if ((was_active)); then k patch cronjob sqlite-backup -p '{"spec":{"suspend":false}}'; fi
  [[ $DRY_RUN == 1 ]] || cmd_forward >/dev/null
  ((status == 0)) || die "the restore Job failed (its log is above): the API runs on the database it had"
}

restore_online() { # id
  local id=${1:-latest}
  ensure_forward
  say "online restore of $id through the agent (POST /restore/$id): the API keeps serving"
  printf "+ TOKEN=\$(kubectl -n %s get secret pra-backup-token -o jsonpath='{.data.token}' | base64 -d)\n" "$NS"
  # shellcheck disable=SC2016 # $TOKEN is printed, for the reader to run
  printf '+ curl -s -X POST -H "Authorization: Bearer $TOKEN" %s/restore/%s\n' "$AGENT_URL" "$id"
  [[ $DRY_RUN == 1 ]] || { curl_json -X POST -H "Authorization: Bearer $(token)" "$AGENT_URL/restore/$id" && echo; }
}

cmd_restore() {
  check_id
  if [[ $OFFLINE == 1 ]] || ! { sidecar_mode || [[ $DRY_RUN == 1 ]]; }; then
    restore_offline "$ID"
  else
    restore_online "$ID"
  fi
  if [[ $DRY_RUN != 1 ]]; then
    ensure_forward
    note "count now: $(count)"
  fi
}

cmd_pca() {
  ensure_forward
  say "scenario 1 (PCA): the api pod dies; Kubernetes recreates it on the same volume"
  printf '+ curl -s "%s/add?message=pca-drill"\n' "$API_URL"
  [[ $DRY_RUN == 1 ]] || { curl_json "$API_URL/add?message=pca-drill-$(date +%s)" && echo; }
  local before="?" after="?" pod start
  [[ $DRY_RUN == 1 ]] || before=$(count)
  note "count before: $before"
  k get pods -l "$API_SELECTOR" -o wide
  pod=$(q get pods -l "$API_SELECTOR" -o name | head -n 1) || true
  start=$(date +%s)
  k delete "${pod:-pod/<api-pod>}"
  k wait --for=condition=Ready pod -l "$API_SELECTOR" --timeout=180s
  k get pods -l "$API_SELECTOR" -o wide
  [[ $DRY_RUN == 1 ]] || { cmd_forward >/dev/null && after=$(count); }
  note "count after:  $after   (service back in $(($(date +%s) - start)) s)"
  [[ $DRY_RUN == 1 || $before == "$after" ]] || die "PCA: the count changed ($before -> $after)"
  [[ $DRY_RUN == 1 ]] || note "PCA: nothing lost. The pod is new, the volume pra-data is the same."
}

cmd_pra() {
  ensure_forward
  say "scenario 2 (PRA): the data volume pra-data is lost; restore from pra-backup"
  local before="?" point=${ID:-} rows="?" after="?"
  check_id
  if [[ $DRY_RUN != 1 ]]; then
    before=$(count)
    if [[ -z $point ]] && sidecar_mode; then
      # Pin the restore point now: once the volume is gone, "latest" could become a backup of the
      # new, empty database (the agent backs up when it starts).
      local latest
      latest=$(curl_json "$AGENT_URL/backups/latest")
      point=$(json 'd.id' <<<"$latest")
      rows=$(json 'd.rows' <<<"$latest")
    fi
  fi
  note "count before: $before; restore point: ${point:-the newest verified backup} ($rows rows)"
  say "phase 1: the disaster"
  k scale deployment api --replicas=0
  wait_api_gone
  local was_active=0
  if cron_active; then
    was_active=1
    k patch cronjob sqlite-backup -p '{"spec":{"suspend":true}}'
  fi
  k delete job -l app.kubernetes.io/name=sqlite-backup --ignore-not-found
  k delete pvc pra-data --wait=true
  say "phase 2: recovery: a new, empty pra-data, then the restore Job (the API stays stopped)"
  run "$KUBECTL" apply -k "$K8S_DIR" -l app.kubernetes.io/name=pra-data
  restore_offline "$point"
  ((was_active == 0)) || k patch cronjob sqlite-backup -p '{"spec":{"suspend":false}}'
  [[ $DRY_RUN == 1 ]] || after=$(count)
  note "count after:  $after (before the disaster: $before; in the backup: $rows)"
  if [[ $DRY_RUN != 1 && $before != "?" && $after != "?" ]]; then
    note "lost: $((before - after)) event(s) written after the backup (the RPO: at most one backup interval)"
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
  k logs deployment/api --all-containers --prefix --tail=100
  if has cronjob sqlite-backup; then
    k get jobs -l app.kubernetes.io/name=sqlite-backup
  fi
}

cmd_down() {
  stop_forwards
  say "deleting the k3d cluster $CLUSTER (its volumes and backups go with it)"
  run k3d cluster delete "$CLUSTER"
}

usage() {
  sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'
  echo "commands: cluster import deploy forward unforward backups backup restore pca pra status logs down"
}

main() {
  local cmd=${1:-}
  case $cmd in
    cluster | import | deploy | forward | unforward | backups | backup | restore | pca | pra | status | logs | down)
      [[ $cmd == cluster || $cmd == down || $cmd == import || $DRY_RUN == 1 ]] || need "$KUBECTL" "install kubectl (README, Environment)"
      "cmd_$cmd"
      ;;
    -h | --help | help | "") usage ;;
    *) die "unknown command: $cmd (try --help)" ;;
  esac
}

main "$@"
