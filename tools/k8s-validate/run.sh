#!/usr/bin/env bash
# make validate-k8s: offline validation of deploy/k8s (and yamllint of deploy/), the
# validator's own tests, and the tests of tools/k8s/workshop.sh. Installs what it needs when missing:
#   - npm packages of this folder (kubernetes-models, typescript, yaml): npm ci, from its lockfile;
#   - yamllint: apt-get (root, as in CI) — otherwise it says how to install it.
# kubectl (its built-in kustomize, v5+) must be on PATH: it is on the project's machines and in a
# Codespace; Debian's kubernetes-client (1.20) is too old for these kustomizations.
set -euo pipefail
cd "$(dirname "$0")"

if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
  echo "==> installing the validator's packages (npm ci in tools/k8s-validate)"
  npm ci --no-audit --no-fund --loglevel=error
fi

if ! command -v yamllint >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing yamllint (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yamllint >/dev/null ||
      { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq yamllint >/dev/null; }
  else
    echo "k8s-validate: yamllint is missing: sudo apt-get install yamllint (or pip install yamllint)" >&2
    exit 1
  fi
fi

KUBECTL=${KUBECTL:-kubectl}
if ! command -v "$KUBECTL" >/dev/null 2>&1; then
  echo "k8s-validate: kubectl is missing (https://kubernetes.io/docs/tasks/tools/); it renders the kustomizations offline" >&2
  exit 1
fi
kustomize_version=$("$KUBECTL" version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\{0,1\}\([0-9]*\).*/\1/p')
if [[ -z $kustomize_version || $kustomize_version -lt 5 ]]; then
  echo "k8s-validate: $KUBECTL has no kustomize v5 ($("$KUBECTL" version --client 2>&1 | tr '\n' ' ')); install kubectl >= 1.27" >&2
  exit 1
fi

echo "==> rendering and validating deploy/k8s (kubectl kustomize + Kubernetes schemas + pra-kit rules + yamllint)"
node validate.mjs "$@"
echo "==> the validator's own tests (seeded mistakes must be reported)"
node --test --test-reporter=spec .
echo "==> tests of tools/k8s/workshop.sh (the make targets) against a fake kubectl"
node --test --test-reporter=spec ../k8s/
