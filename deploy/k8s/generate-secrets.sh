#!/usr/bin/env bash
# Generates the credentials the manifests read, once, on this machine:
#   base/secrets/backup-token.env            token=<64 hex>   -> Secret pra-backup-token
#   overlays/minio/secrets/minio.env         MINIO_ROOT_USER / MINIO_ROOT_PASSWORD -> Secret minio-credentials
#   overlays/minio/secrets/offsite-key.env   S3_ENCRYPTION_KEY (32 random bytes, base64) -> Secret pra-offsite-key
#                                            (keep a copy elsewhere: without it the bucket's backups are unreadable)
# The files are gitignored (deploy/k8s/.gitignore) and never overwritten: run it as often as you
# like; delete a file to rotate that credential (then re-apply and restart the pods).
# Prints "created <file>" for each file it writes and nothing else, so callers can tell a change.
set -euo pipefail
cd "$(dirname "$0")"
umask 077

random_hex() { # $1 = number of random bytes
  od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'
}

write_once() { # $1 = file, stdin = content
  local file=$1
  if [[ -s $file ]]; then
    cat >/dev/null
    return 0
  fi
  mkdir -p "$(dirname "$file")"
  cat >"$file.tmp"
  mv "$file.tmp" "$file"
  echo "created deploy/k8s/$file"
}

printf 'token=%s\n' "$(random_hex 32)" | write_once base/secrets/backup-token.env
printf 'MINIO_ROOT_USER=pra-%s\nMINIO_ROOT_PASSWORD=%s\n' "$(random_hex 4)" "$(random_hex 24)" |
  write_once overlays/minio/secrets/minio.env
printf 'S3_ENCRYPTION_KEY=%s\n' "$(head -c 32 /dev/urandom | base64)" | write_once overlays/minio/secrets/offsite-key.env
