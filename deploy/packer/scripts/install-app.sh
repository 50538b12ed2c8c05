#!/bin/bash
# Runs as root inside the build container (see images.pkr.hcl), after /app holds the Nx build
# output (main.js, package.json, package-lock.json). Installs the production dependencies for the
# image's own Node, creates the runtime user and directories, and leaves no build tool behind.
#
# Inputs (environment, set by the template):
#   APP                    api | backup-agent (for the log lines)
#   APP_UID                uid and gid of the runtime user (10001)
#   NPM_BUILD_FROM_SOURCE  true: compile better-sqlite3 (no prebuilt binary is reachable);
#                          false: let prebuild-install download it, and compile if that fails
#   ADDON_NODE_HEADERS     compile better-sqlite3 against the headers of this Node version when the
#                          image's Node is 24.19 or later (see "Node 24.19" below), or empty
#   EXTRA_CA_FILE          a PEM bundle mounted into the container, or empty
#   BUILD_CACHE            a host directory mounted into the container, or empty; holds the npm
#                          cache and the better-sqlite3 binary compiled by an earlier build
#   CACHE_OWNER            uid:gid to give the cache back to (the user who runs Packer)
#
# The docker builder commits the container's filesystem as one layer, so what is installed and
# purged within this script never reaches the image.
set -euo pipefail

log() { echo "==> [$APP] $*"; }
export DEBIAN_FRONTEND=noninteractive
cd /app

# --- trust store: an extra CA (corporate proxy) for npm, node-gyp and the app at run time -------
if [[ -n "${EXTRA_CA_FILE:-}" ]]; then
  [[ -s "$EXTRA_CA_FILE" ]] || { echo "extra CA bundle $EXTRA_CA_FILE is missing or empty" >&2; exit 1; }
  if ! command -v update-ca-certificates >/dev/null; then
    # the official -slim images purge ca-certificates; Debian's mirror is plain http, no CA needed
    log "installing ca-certificates"
    apt-get update -qq && apt-get install -y -qq --no-install-recommends ca-certificates >/dev/null
  fi
  # update-ca-certificates wants one certificate per file: split the bundle.
  mkdir -p /usr/local/share/ca-certificates/pra-extra
  awk '/-----BEGIN CERTIFICATE-----/ { n++; f = sprintf("/usr/local/share/ca-certificates/pra-extra/extra-%03d.crt", n) }
       f { print > f } /-----END CERTIFICATE-----/ { close(f); f = "" }' "$EXTRA_CA_FILE"
  log "adding $(find /usr/local/share/ca-certificates/pra-extra -name '*.crt' | wc -l) extra CA certificate(s) to the trust store"
  update-ca-certificates >/dev/null 2>&1
  export npm_config_cafile=/etc/ssl/certs/ca-certificates.crt NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
fi

# --- npm: nothing from a user's configuration, the image's own Node headers ------------------
export npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export npm_config_userconfig=/dev/null npm_config_loglevel=warn
# The official images and pra/node carry the headers under /usr/local/include/node: node-gyp uses
# them instead of downloading them (no download from nodejs.org is reachable on a closed network).
[[ -f /usr/local/include/node/node.h ]] && export npm_config_nodedir=/usr/local
if [[ -n "${BUILD_CACHE:-}" ]]; then
  export npm_config_cache="$BUILD_CACHE/npm"
else
  export npm_config_cache=/tmp/npm-cache
fi

# --- Node 24.19+: compile better-sqlite3 against older headers -------------------------------
# Node 24.19.0 changed the header-only node::ObjectWrap: its destructor now removes an environment
# cleanup hook and CHECKs that an environment is current. better-sqlite3 12 derives Statement from
# ObjectWrap, so a statement collected by an idle GC aborts the whole process ("Assertion failed:
# (env) != nullptr", nodejs/node#65446) -- seen here seconds after start. What matters is the
# headers the addon is compiled against, not the runtime: built against 24.18.1 headers it runs
# cleanly on later 24.x. Prebuilt binaries may be built against the new headers, so compile.
# Drop this once better-sqlite3 13 (Node-API, not ObjectWrap) can be used everywhere.
headers_tag=""
if [[ -n "${ADDON_NODE_HEADERS:-}" ]] && node -e '
    const [maj, min] = process.versions.node.split(".").map(Number);
    process.exit(maj === 24 && min >= 19 ? 0 : 1)'; then
  log "Node $(node -v): compiling better-sqlite3 against Node $ADDON_NODE_HEADERS headers (nodejs/node#65446)"
  mkdir -p /tmp/node-headers
  (cd /tmp/node-headers && npm pack --silent "node-linux-$(node -p process.arch)@$ADDON_NODE_HEADERS" >/dev/null \
    && tar -xzf node-linux-*.tgz package/include && rm -f node-linux-*.tgz)
  [[ -f /tmp/node-headers/package/include/node/node.h ]] || { echo "no Node $ADDON_NODE_HEADERS headers" >&2; exit 1; }
  export npm_config_nodedir=/tmp/node-headers/package
  NPM_BUILD_FROM_SOURCE=true
  headers_tag="-h$ADDON_NODE_HEADERS"
fi

# --- better-sqlite3: reuse a binary compiled by an earlier build, else download or compile ----
# The binary depends on the Node ABI, the architecture and the C library: the prebuild name carries
# the first two, the cache folder the distribution (same glibc and libstdc++) and the headers.
# shellcheck source=/dev/null
. /etc/os-release
bsq_version="$(node -p "require('./package-lock.json').packages['node_modules/better-sqlite3']?.version ?? ''")"
prebuild_dir="${BUILD_CACHE:+$BUILD_CACHE/prebuilds/$ID-$VERSION_CODENAME$headers_tag}"
prebuild_name="better-sqlite3-v$bsq_version-node-v$(node -p process.versions.modules)-linux-$(node -p process.arch).tar.gz"

toolchain_installed=false
install_toolchain() {
  $toolchain_installed && return 0
  log "installing python3, make and g++ to compile better-sqlite3 (removed again below)"
  apt-mark showmanual >/tmp/apt-manual-before
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends python3 make g++ >/dev/null
  toolchain_installed=true
}
remove_toolchain() {
  $toolchain_installed || return 0
  log "removing the compiler toolchain"
  # Mark everything automatic, restore what was manual before, purge the rest (the official
  # node images use the same idiom).
  apt-mark auto '.*' >/dev/null
  xargs -r apt-mark manual </tmp/apt-manual-before >/dev/null
  apt-get purge -y -qq --auto-remove -o APT::AutoRemove::RecommendsImportant=false >/dev/null
  rm -f /tmp/apt-manual-before
}
npm_ci() { rm -rf node_modules && npm ci --omit=dev --no-audit --no-fund; }

started=$SECONDS
if [[ -z "$bsq_version" ]]; then
  log "npm ci --omit=dev (no better-sqlite3 in the lockfile)"
  npm_ci
elif [[ -n "$prebuild_dir" && -f "$prebuild_dir/$prebuild_name" ]] \
  && log "npm ci --omit=dev, better-sqlite3 $bsq_version from the build cache ($prebuild_name)" \
  && npm_config_build_from_source=false npm_config_better_sqlite3_local_prebuilds="$prebuild_dir" npm_ci; then
  : # prebuild-install unpacked the cached binary and loaded it successfully
else
  if [[ "${NPM_BUILD_FROM_SOURCE:-false}" == true ]]; then
    install_toolchain
    log "npm ci --omit=dev, compiling better-sqlite3 $bsq_version (1 to 3 minutes)"
    npm_config_build_from_source=true npm_ci
  elif ! { log "npm ci --omit=dev, prebuilt better-sqlite3 $bsq_version"
            npm_config_build_from_source=false npm_ci >/tmp/npm-prebuilt.log 2>&1; }; then
    # npm's own error is long (node-gyp finds no Python): print why the download failed instead.
    log "no prebuilt better-sqlite3 could be used ($(grep -m1 -o 'prebuild-install warn.*' /tmp/npm-prebuilt.log || echo 'see npm output')): compiling it"
    install_toolchain
    npm_config_build_from_source=true npm_ci
  fi
  if [[ -n "$prebuild_dir" ]]; then   # share the binary with the next build (same layout as a prebuild)
    mkdir -p "$prebuild_dir"
    tar -C node_modules/better-sqlite3 -czf "$prebuild_dir/.$prebuild_name.$$" build/Release/better_sqlite3.node
    mv "$prebuild_dir/.$prebuild_name.$$" "$prebuild_dir/$prebuild_name"
    log "cached the better-sqlite3 binary as $prebuild_name"
  fi
fi
log "dependencies installed in $((SECONDS - started))s"
remove_toolchain

if [[ -n "$bsq_version" ]]; then
  # Keep the addon only: the SQLite sources (deps/, src/) and the object files are build inputs.
  bsq=node_modules/better-sqlite3
  mv "$bsq/build/Release/better_sqlite3.node" /tmp/better_sqlite3.node
  rm -rf "$bsq/build" "$bsq/deps" "$bsq/src" "$bsq/binding.gyp"
  mkdir -p "$bsq/build/Release" && mv /tmp/better_sqlite3.node "$bsq/build/Release/"
  node -e "
    const Database = require('better-sqlite3');
    const { v } = new Database(':memory:').prepare('select sqlite_version() as v').get();
    console.log('==> [$APP] better-sqlite3 loads: SQLite ' + v + ', Node ' + process.version);
  "
fi

# --- runtime user and directories ---------------------------------------------------------------
if ! getent passwd "$APP_UID" >/dev/null; then
  groupadd --gid "$APP_UID" app
  useradd --uid "$APP_UID" --gid "$APP_UID" --home-dir /nonexistent --no-create-home --no-log-init \
    --shell /usr/sbin/nologin app
fi
# The code is root's and read-only to the app; only the volumes are written to at run time.
chown -R root:root /app && chmod -R u=rwX,go=rX /app
mkdir -p /data /backup
chown "$APP_UID:$APP_UID" /data /backup && chmod 0750 /data /backup

# --- leave nothing of the build behind ----------------------------------------------------------
rm -rf /tmp/npm-cache /root/.npm /root/.cache /root/.config /var/lib/apt/lists/* /var/cache/apt/*.bin /tmp/* || true
if [[ -n "${BUILD_CACHE:-}" && -n "${CACHE_OWNER:-}" ]]; then
  chown -R "$CACHE_OWNER" "$BUILD_CACHE"   # written as root in here; give it back to the host user
fi
log "/app: $(du -sh /app | cut -f1) (main.js $(du -sh main.js | cut -f1), node_modules $(du -sh node_modules | cut -f1))"
