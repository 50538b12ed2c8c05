# pra-kit: one target per step. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# better-sqlite3 has no reachable prebuilt binary here: compile it (about 3 minutes, once).
export npm_config_build_from_source := true
export NX_DAEMON ?= false
export NX_NO_CLOUD := true
export NX_TUI := false
NX := npx nx

.PHONY: help install build dev test chromium screenshots lint format drill-pca drill-pra drill bench soak

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z0-9_-]+:.*## /{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Reinstall only when the lockfile's content changed (a git checkout changes mtimes, not content).
LOCK_HASH = $(shell sha256sum package-lock.json | cut -c1-16)

install: ## install dependencies if missing or out of date
	@if [ "$$(cat node_modules/.installed 2>/dev/null)" != "$(LOCK_HASH)" ]; then \
	  echo "==> installing dependencies (npm ci; better-sqlite3 compiles from source)"; \
	  npm ci --no-audit --no-fund && echo "$(LOCK_HASH)" > node_modules/.installed; \
	fi

build: install ## build the API, the agent, the console and the drill into dist/
	@echo "==> building dist/apps/api, dist/apps/backup-agent, dist/apps/console and dist/apps/drill"
	$(NX) run-many -t build --outputStyle=static

dev: build ## run API (:8080) and agent (:8081) locally, data under ./var
	node tools/dev.mjs

test: install chromium ## run every test (format, lint, unit, in-process HTTP, real processes, a browser)
	@echo "==> format (prettier --check), lint and tests"
	npx prettier --check --log-level warn "**/*.{ts,js,mjs,cjs}"
	$(NX) run-many -t lint test --parallel=1 --outputStyle=static

# The console's browser test drives Debian's Chromium with playwright-core (which downloads nothing);
# CHROMIUM_PATH=/path/to/chrome uses another Chromium-based browser instead.
export CHROMIUM_PATH ?= /usr/bin/chromium

chromium: ## install Debian's Chromium for the console's browser test, if it is missing
	@test -x $(CHROMIUM_PATH) || { echo "==> installing chromium (apt) for the console's browser test"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

screenshots: install chromium ## the console's browser test, writing its screenshots (the README's) to docs/screenshots
	CONSOLE_SCREENSHOTS=$(CURDIR)/docs/screenshots $(NX) test console --skip-nx-cache --outputStyle=static

lint: install ## lint only
	$(NX) run-many -t lint --outputStyle=static

# DR drills: DRILL_TARGET=local (default; starts a private instance if make dev is not running),
# podman or k8s; DRILL_ARGS for objectives, e.g. DRILL_ARGS="--rto 30 --rpo 70".
DRILL_TARGET ?= local
DRILL_ARGS ?=

drill-pca: build ## drill PCA: kill the API while writing; measure RTO, RPO and lost writes (must be 0)
	@echo "==> pod-loss drill on $(DRILL_TARGET): reports in var/drills/"
	node dist/apps/drill/main.js pod-loss --target $(DRILL_TARGET) $(DRILL_ARGS)

drill-pra: build ## drill PRA: destroy the data volume while writing; restore offline; measure RTO and RPO
	@echo "==> data-loss drill on $(DRILL_TARGET): reports in var/drills/"
	node dist/apps/drill/main.js data-loss --target $(DRILL_TARGET) $(DRILL_ARGS)

drill: build ## any drill: make drill SCENARIO=corruption|backup-loss|pod-loss|data-loss
	node dist/apps/drill/main.js $(SCENARIO) --target $(DRILL_TARGET) $(DRILL_ARGS)

# Benchmarks (bench/README.md): ratios measured in one run, under 5 minutes on 2 cores. Results in
# bench/results/latest.{json,md}. sqlite3 (the reference for backups) comes from apt if missing.
SUDO = $(if $(filter 0,$(shell id -u)),,sudo)

bench: build ## run the benchmarks; writes bench/results/latest.json and latest.md
	@command -v sqlite3 >/dev/null || { echo "==> installing sqlite3 (apt)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq sqlite3; }
	node bench/run.mjs

# Soak (not part of make test): load, backups, online restores and kill -9 for SOAK_MINUTES, every
# acknowledged write accounted for; report in var/soak/<run>/. CI runs SOAK_MINUTES=2.
SOAK_MINUTES ?= 30

soak: build ## soak for SOAK_MINUTES (default 30): 500 writes/s, restores, kill -9; zero lost writes, flat memory
	@echo "==> the soak's own accounting checks (node --test tools/soak/)"
	node --test --test-reporter=dot tools/soak/
	@echo "==> soak, $(SOAK_MINUTES) min: report in var/soak/"
	SOAK_MINUTES=$(SOAK_MINUTES) node tools/soak/soak.mjs

format: install ## format the code with prettier
	npx prettier --write .

# --- images (deploy/packer) -------------------------------------------------------------------
# make image TAG=1.0 [BASE_IMAGE=pra/node:24-bookworm-slim] [EXTRA_CA=/path/ca.pem] [NPM_BUILD_FROM_SOURCE=true]
TAG ?= 1.0
PACKER ?= packer
PACKER_DIR := deploy/packer
BASE_IMAGE ?=
EXTRA_CA ?=
NPM_BUILD_FROM_SOURCE ?= false
IMAGE_CACHE_DIR ?= $(CURDIR)/tmp/image-cache
PACKER_ARGS ?=
PACKER_VARS = -var image_tag=$(TAG) \
  -var git_revision=$(shell git rev-parse HEAD 2>/dev/null || echo unknown) \
  $(if $(BASE_IMAGE),-var base_image=$(BASE_IMAGE)) \
  $(if $(EXTRA_CA),-var extra_ca_bundle=$(EXTRA_CA)) \
  -var npm_build_from_source=$(NPM_BUILD_FROM_SOURCE) \
  -var build_cache_dir=$(IMAGE_CACHE_DIR) -var cache_owner=$(shell id -u):$(shell id -g) \
  $(PACKER_ARGS)

.PHONY: image ci-images ci-podman

# Packer >= 1.7 installs the docker plugin (deploy/packer/plugins.pkr.hcl) and builds the folder;
# older Packer (Debian 12 has 1.6.6) has the builder built in and builds images.pkr.hcl alone.
# -parallel-builds=1: the second image reuses the better-sqlite3 binary the first one compiled.
image: build ## build the images pra/api:TAG and pra/backup-agent:TAG with Packer (TAG=1.0)
	@mkdir -p $(IMAGE_CACHE_DIR)
	@v="$$($(PACKER) version 2>/dev/null | sed -n 's/^Packer v\([0-9.]*\).*/\1/p' | head -1)"; \
	if [ -z "$$v" ]; then echo "==> $(PACKER) not found: install Packer (README, Images)" >&2; exit 1; fi; \
	if printf '%s\n' 1.7.0 "$$v" | sort -V -C; then \
	  echo "==> packer $$v: packer init $(PACKER_DIR), then packer build -var image_tag=$(TAG) $(PACKER_DIR)"; \
	  set -x; $(PACKER) init $(PACKER_DIR) && $(PACKER) build -parallel-builds=1 $(PACKER_VARS) $(PACKER_DIR); \
	else \
	  echo "==> packer $$v (older than 1.7, no packer init): packer build -var image_tag=$(TAG) $(PACKER_DIR)/images.pkr.hcl"; \
	  set -x; $(PACKER) build -parallel-builds=1 $(PACKER_VARS) $(PACKER_DIR)/images.pkr.hcl; \
	fi
	@docker image ls --format '    {{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E ':$(TAG) ' | grep -E '/(api|backup-agent):' || true

ci-images: ## CI: install Docker, Packer and debootstrap, build the base image and both images, run them (root)
	@echo "==> tools/images/ci-images.sh: base image, make build, make image, smoke tests"
	tools/images/ci-images.sh

ci-podman: build ## CI: the manifests under Podman: routes, PCA/PRA drills, CronJob backup, restore Job (id, instant, newest), minio overlay (root)
	@echo "==> tools/podman/ci-podman.sh: routes, drills, the CronJob's backup, the restore Job's paths, the minio overlay"
	tools/podman/ci-podman.sh

# --- the k3d workshop path (README: "The workshop on k3d") -------------------------------------
# Each target runs one operation of the runbook, tools/k8s/workshop.sh (Ansible and the k8s drill
# call the same one), and prints the commands it runs; DRY_RUN=1 prints them only.
CLUSTER ?= pra
NS ?= pra
# base (API + agent sidecar) | cronjob (the workshop's CronJob) | minio (offsite copies) | monitoring
# | auto-restore (a missing database restored at start, no operator)
OVERLAY ?= base
# the restore point: ID=<backup id> or AT=<instant> (ISO-8601 with a zone, or unix seconds); empty = newest
ID ?=
AT ?=
OFFLINE ?=
WORKSHOP = CLUSTER=$(CLUSTER) NS=$(NS) TAG=$(TAG) OVERLAY=$(OVERLAY) ID=$(ID) AT=$(AT) OFFLINE=$(OFFLINE) \
	DRY_RUN=$(DRY_RUN) tools/k8s/workshop.sh
ANSIBLE_PLAYBOOK = ANSIBLE_CONFIG=deploy/ansible/ansible.cfg ansible-playbook deploy/ansible/playbook.yml

.PHONY: up cluster import deploy forward unforward backups backup restore stop start pca pra status logs down \
	ansible validate-k8s validate-ansible validate-devcontainer

up: ## everything on k3d: cluster -> build -> image -> import -> deploy (then: make forward)
	@echo "==> make up: cluster, build, image, import, deploy (OVERLAY=$(OVERLAY), TAG=$(TAG))"
	$(MAKE) cluster
	$(MAKE) build
	$(MAKE) image
	$(MAKE) import
	$(MAKE) deploy

cluster: ## create the k3d cluster pra (1 server + 2 agents) if missing
	@$(WORKSHOP) cluster

import: ## import pra/api:TAG and pra/backup-agent:TAG into the k3d nodes that lack this build
	@$(WORKSHOP) import

deploy: ## generate credentials once, kubectl apply -k deploy/k8s/OVERLAY, wait for the API to start
	@$(WORKSHOP) deploy

forward: ## port-forward the API to :8080 and the agent to :8081 in the background (restartable)
	@$(WORKSHOP) forward

unforward: ## stop the port-forwards
	@$(WORKSHOP) unforward

backups: ## list the restore points (the agent's GET /backups)
	@$(WORKSHOP) backups

backup: ## take a backup now (POST /backups with the token from the Secret)
	@$(WORKSHOP) backup

restore: ## restore ID=<backup id> or AT=<instant> (empty = newest): online via the agent; OFFLINE=1 with the Job
	@$(WORKSHOP) restore

stop: ## scale the API to 0 and suspend the backup CronJob (what an offline restore does first)
	@$(WORKSHOP) stop

start: ## scale the API to 1 and resume the CronJob that stop suspended
	@$(WORKSHOP) start

pca: ## scenario 1 (PCA): delete the api pod, show that nothing was lost
	@$(WORKSHOP) pca

pra: ## scenario 2 (PRA): lose the volume pra-data, restore it with the Job, show the count
	@$(WORKSHOP) pra

status: ## pods, volumes, CronJob, and the API's /status
	@$(WORKSHOP) status

logs: ## logs of the API and the agent
	@$(WORKSHOP) logs

down: ## delete the k3d cluster (and everything in it)
	@$(WORKSHOP) down

ansible: ## the same path with Ansible (TAGS=cluster,build,image,import,deploy or restore)
	@echo "==> ansible-playbook deploy/ansible/playbook.yml $(if $(TAGS),--tags $(TAGS))"
	$(ANSIBLE_PLAYBOOK) -e pra_overlay=$(OVERLAY) -e pra_image_tag=$(TAG) \
		$(if $(TAGS),--tags $(TAGS)) $(if $(ID),-e restore_id=$(ID)) $(if $(AT),-e restore_at=$(AT))

validate-k8s: ## render every overlay offline and validate it (schemas, rules, yamllint)
	@echo "==> validating deploy/k8s offline (tools/k8s-validate)"
	tools/k8s-validate/run.sh --tag $(TAG)

validate-devcontainer: ## check .devcontainer: plain JSON, the workshop's tools, shellcheck of post-create.sh
	@command -v shellcheck >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && apt-get install -y -qq shellcheck >/dev/null; } || \
	  { echo "missing: sudo apt-get install shellcheck" >&2; exit 1; }
	node --test --test-reporter=spec .devcontainer/

validate-ansible: ## ansible-playbook --syntax-check, ansible-lint (production), the playbook run against a fake cluster
	@echo "==> checking deploy/ansible: syntax, ansible-lint's production profile, runs against tools/k8s/fakes"
	@command -v ansible-lint >/dev/null || { echo "missing: sudo apt-get install ansible ansible-lint" >&2; exit 1; }
	cd deploy/ansible && ANSIBLE_CONFIG=ansible.cfg ansible-playbook playbook.yml --syntax-check
	cd deploy/ansible && ansible-lint
	node --test --test-reporter=spec deploy/ansible/
