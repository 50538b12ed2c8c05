#!/usr/bin/env bash
# Usage: images-to-import.sh CLUSTER IMAGE...
# Prints each local Docker image that some node of the k3d cluster lacks, or holds in another
# version (compared by image id, the config digest, which `k3d image import` keeps); prints
# nothing when every node already has every image.
set -euo pipefail
cluster=$1
shift
mapfile -t nodes < <(docker ps --filter "label=k3d.cluster=$cluster" --filter label=k3d.role=server --format '{{.Names}}'
  docker ps --filter "label=k3d.cluster=$cluster" --filter label=k3d.role=agent --format '{{.Names}}')
if ((${#nodes[@]} == 0)); then
  echo "no running node in k3d cluster $cluster" >&2
  exit 1
fi
for image in "$@"; do
  want=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) || {
    echo "$image is not in the local Docker: build it first (make image)" >&2
    exit 1
  }
  for node in "${nodes[@]}"; do
    have=$(docker exec "$node" crictl inspecti -o json "docker.io/$image" 2>/dev/null |
      sed -n 's/^ *"id": *"\(sha256:[0-9a-f]*\)".*/\1/p' | head -n 1) || have=
    if [[ $have != "$want" ]]; then
      echo "$image"
      break
    fi
  done
done
