#!/usr/bin/env bash
# Runs once when the Codespace is created (devcontainer.json, postCreateCommand). It installs what
# the workshop has you install by hand, the same way: k3d with its install script, Packer 1.11 from
# releases.hashicorp.com, Ansible with kubernetes.core from pip and ansible-galaxy. Docker and
# kubectl come from the devcontainer features; Node 20 from the image. Then the project's
# dependencies, so that `make up` is all that is left to do.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKER_VERSION=${PACKER_VERSION:-1.11.2}
step() { printf '\n==> %s\n' "$*"; }

step "tools for the native build of better-sqlite3 (g++, make) and unzip"
sudo apt-get update -qq
sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ make unzip >/dev/null

step "k3d (its install script)"
if ! command -v k3d >/dev/null; then
  curl -s https://raw.githubusercontent.com/k3d-io/k3d/main/install.sh | bash
fi
k3d version

step "Packer $PACKER_VERSION (releases.hashicorp.com)"
if ! packer version 2>/dev/null | grep -q "v$PACKER_VERSION"; then
  arch=$(dpkg --print-architecture) # amd64 or arm64, as Packer names them
  curl -fsSL -o /tmp/packer.zip \
    "https://releases.hashicorp.com/packer/${PACKER_VERSION}/packer_${PACKER_VERSION}_linux_${arch}.zip"
  sudo unzip -o /tmp/packer.zip -d /usr/local/bin
  rm -f /tmp/packer.zip
fi
packer version

step "Ansible with kubernetes.core (pip --user, ansible-galaxy)"
python3 -m pip install --user --quiet ansible kubernetes PyYAML jinja2
export PATH="$HOME/.local/bin:$PATH"
ansible-galaxy collection install kubernetes.core
ansible --version | head -1

step "the project's dependencies (make install; better-sqlite3 compiles, about 3 minutes)"
make install

step "ready: make up (cluster, build, image, import, deploy), then make forward"
