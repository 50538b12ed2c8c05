#!/usr/bin/env bash
# Usage: stale-images.sh REPO_ROOT IMAGE...
# Prints each image that is missing from the local Docker or older than the build output
# (dist/apps/*/main.js), with the reason; prints nothing when every image is up to date.
set -euo pipefail
root=$1
shift
newest=0
for f in "$root"/dist/apps/api/main.js "$root"/dist/apps/backup-agent/main.js; do
  if [[ -f $f ]]; then
    t=$(stat -c %Y "$f")
    ((t > newest)) && newest=$t
  fi
done
for image in "$@"; do
  if ! created=$(docker image inspect --format '{{.Created}}' "$image" 2>/dev/null); then
    echo "$image missing"
    continue
  fi
  built=$(date -d "$created" +%s)
  if ((built < newest)); then
    echo "$image older than dist/"
  fi
done
