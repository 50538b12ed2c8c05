# pra/api:<tag> and pra/backup-agent:<tag>, built with Docker from the Nx build output (`make build`).
#
#   packer init deploy/packer && packer build -var image_tag=1.0 deploy/packer   # Packer >= 1.7
#   packer build -var image_tag=1.0 deploy/packer/images.pkr.hcl                # Packer 1.6 (Debian 12)
#
# The docker plugin is declared in plugins.pkr.hcl, apart from this file: Packer 1.6 rejects a
# required_plugins block and has the docker builder built in, so this file alone builds with it.
# Keep this file to HCL that Packer 1.6.6 accepts (it is what CI runs).

variable "image_tag" {
  type        = string
  default     = "1.0"
  description = "Tag of both images, as in the workshop (packer build -var image_tag=1.0)."
}

variable "image_repository" {
  type        = string
  default     = "pra"
  description = "Images are named <image_repository>/api and <image_repository>/backup-agent."
}

variable "base_image" {
  type        = string
  default     = "node:24-bookworm-slim"
  description = "A Debian bookworm image with Node 24 and npm under /usr/local (the official one, or pra/node:24-bookworm-slim built by tools/images/build-base-image.sh where no registry is reachable)."
}

variable "pull_base_image" {
  type        = bool
  default     = false
  description = "Pull base_image before building. Off by default so a local base image works; Docker still pulls a missing image."
}

variable "npm_build_from_source" {
  type        = bool
  default     = false
  description = "Compile better-sqlite3 instead of downloading its prebuilt binary (true where the download is unreachable; a failed download falls back to compiling anyway)."
}

variable "addon_node_headers" {
  type        = string
  default     = "24.18.1"
  description = "Compile better-sqlite3 against the headers of this Node version when the image's Node is 24.19 or later (empty: the image's own headers). Node 24.19 changed the header-only node::ObjectWrap so that better-sqlite3 12 aborts when the GC collects a statement (nodejs/node#65446); built against 24.18.1 headers it runs cleanly on later 24.x."
}

variable "extra_ca_bundle" {
  type        = string
  default     = ""
  description = "Path to a PEM bundle of extra CA certificates (corporate proxy). Added to the image's trust store, used by npm during the build and by Node at run time (NODE_EXTRA_CA_CERTS)."
}

variable "build_cache_dir" {
  type        = string
  default     = ""
  description = "A host directory for the npm cache and the compiled better-sqlite3 binary, so it is compiled once for both images and for later builds. Empty: no cache."
}

variable "cache_owner" {
  type        = string
  default     = ""
  description = "uid:gid that owns build_cache_dir on the host (the build writes it as root)."
}

variable "dist_dir" {
  type        = string
  default     = ""
  description = "The Nx build output holding api/, backup-agent/ and console/. Empty: dist/apps of this repository."
}

variable "git_revision" {
  type        = string
  default     = "unknown"
  description = "Commit the images are built from (label org.opencontainers.image.revision)."
}

variable "version" {
  type        = string
  default     = ""
  description = "Version label (org.opencontainers.image.version). Empty: image_tag."
}

variable "source_url" {
  type        = string
  default     = ""
  description = "Repository URL (label org.opencontainers.image.source)."
}

locals {
  dist_dir = var.dist_dir != "" ? var.dist_dir : "${path.root}/../../dist/apps"
  version  = var.version != "" ? var.version : var.image_tag
  app_uid  = 10001

  # Mounted into the build container only: Docker does not commit volume contents, so neither the
  # CA bundle file nor the cache ends up in the image (the CA certificates are copied in on purpose).
  # (A for expression rather than merge(): Packer 1.6's merge() panics on two empty maps.)
  volumes = { for pair in [
    [var.extra_ca_bundle, "/run/pra-build/extra-ca.pem"],
    [var.build_cache_dir, "/run/pra-build/cache"],
  ] : abspath(pair[0]) => pair[1] if pair[0] != "" }

  # Image configuration shared by both images. The container Packer commits keeps /bin/sh as its
  # entrypoint, so ENTRYPOINT, CMD, USER, WORKDIR and ENV are all set here explicitly.
  common_changes = concat([
    "USER ${local.app_uid}:${local.app_uid}",
    "WORKDIR /app",
    "ENV NODE_ENV=production",
    "ENV DB_PATH=/data/app.db",
    "ENV BACKUP_DIR=/backup",
    "ENTRYPOINT [\"node\", \"/app/main.js\"]",
    # No VOLUME for /data and /backup: Docker would silently create an anonymous volume on each
    # run and hide a forgotten mount. Kubernetes mounts the PVCs; `docker run` needs -v or --tmpfs.
    "LABEL org.opencontainers.image.version=\"${local.version}\" org.opencontainers.image.revision=\"${var.git_revision}\" org.opencontainers.image.created=\"${timestamp()}\" org.opencontainers.image.base.name=\"${var.base_image}\" org.opencontainers.image.vendor=\"pra-kit\"",
    ], var.source_url == "" ? [] : [
    "LABEL org.opencontainers.image.source=\"${var.source_url}\"",
    ], var.extra_ca_bundle == "" ? [] : [
    # Node ignores the system trust store unless told: the extra CA must reach the app too (S3).
    "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt",
  ])
}

source "docker" "api" {
  image   = var.base_image
  pull    = var.pull_base_image
  commit  = true
  volumes = local.volumes
  changes = concat(local.common_changes, [
    "ENV API_PORT=8080",
    "EXPOSE 8080",
    "CMD []",
    "LABEL org.opencontainers.image.title=\"pra-api\" org.opencontainers.image.description=\"pra-kit API: NestJS service keeping its data in SQLite (/data/app.db)\"",
  ])
}

source "docker" "backup-agent" {
  image   = var.base_image
  pull    = var.pull_base_image
  commit  = true
  volumes = local.volumes
  changes = concat(local.common_changes, [
    "ENV AGENT_PORT=8081",
    "EXPOSE 8081",
    # `serve` by default; a CronJob or a Job passes another command: args: ["backup"].
    "CMD [\"serve\"]",
    "LABEL org.opencontainers.image.title=\"pra-backup-agent\" org.opencontainers.image.description=\"pra-kit backup agent: consistent SQLite backups, verify, restore (serve|backup|restore|verify|list)\"",
  ])
}

build {
  sources = ["source.docker.api", "source.docker.backup-agent"]

  provisioner "shell" {
    inline = ["mkdir -p /app"]
  }

  # main.js (webpack bundle, node_modules external), package.json and package-lock.json.
  provisioner "file" {
    source      = "${local.dist_dir}/${source.name}/"
    destination = "/app"
  }

  # The agent serves the web console (dist/apps/console) at GET /, from /app/console beside main.js.
  provisioner "shell" {
    only   = ["docker.backup-agent"]
    inline = ["mkdir -p /app/console"]
  }

  provisioner "file" {
    only        = ["docker.backup-agent"]
    source      = "${local.dist_dir}/console/"
    destination = "/app/console"
  }

  provisioner "shell" {
    script = "${path.root}/scripts/install-app.sh"
    environment_vars = [
      "APP=${source.name}",
      "APP_UID=${local.app_uid}",
      "NPM_BUILD_FROM_SOURCE=${var.npm_build_from_source}",
      "ADDON_NODE_HEADERS=${var.addon_node_headers}",
      "EXTRA_CA_FILE=${var.extra_ca_bundle == "" ? "" : "/run/pra-build/extra-ca.pem"}",
      "BUILD_CACHE=${var.build_cache_dir == "" ? "" : "/run/pra-build/cache"}",
      "CACHE_OWNER=${var.cache_owner}",
    ]
  }

  post-processor "docker-tag" {
    repository = "${var.image_repository}/${source.name}"
    tags       = [var.image_tag]
  }
}
