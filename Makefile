# pra-kit: one target per step. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# better-sqlite3 has no reachable prebuilt binary here: compile it (about 3 minutes, once).
export npm_config_build_from_source := true
export NX_DAEMON ?= false
export NX_NO_CLOUD := true
export NX_TUI := false
NX := npx nx

.PHONY: help install build dev test lint format

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z0-9_-]+:.*## /{printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

node_modules/.installed: package.json package-lock.json
	@echo "==> installing dependencies (npm ci; better-sqlite3 compiles from source)"
	npm ci --no-audit --no-fund
	@touch $@

install: node_modules/.installed ## install dependencies if missing or out of date

build: install ## build the API and the agent into dist/
	@echo "==> building dist/apps/api/main.js and dist/apps/backup-agent/main.js"
	$(NX) run-many -t build --outputStyle=static

dev: build ## run API (:8080) and agent (:8081) locally, data under ./var
	node tools/dev.mjs

test: install ## run every test (lint, unit, in-process HTTP, real processes)
	@echo "==> lint and tests"
	$(NX) run-many -t lint test --parallel=1 --outputStyle=static

lint: install ## lint only
	$(NX) run-many -t lint --outputStyle=static

format: install ## format the code with prettier
	npx prettier --write .

# --- the k3d workshop path (README: "The workshop on k3d") -------------------------------------
# Each target prints the commands it runs (tools/k8s/workshop.sh); DRY_RUN=1 prints them only.
CLUSTER ?= pra
NS ?= pra
TAG ?= 1.0
# base (API + agent sidecar) | cronjob (the workshop's CronJob) | minio (offsite copies)
OVERLAY ?= base
ID ?=
OFFLINE ?=
WORKSHOP = CLUSTER=$(CLUSTER) NS=$(NS) TAG=$(TAG) OVERLAY=$(OVERLAY) ID=$(ID) OFFLINE=$(OFFLINE) \
	DRY_RUN=$(DRY_RUN) tools/k8s/workshop.sh
ANSIBLE_PLAYBOOK = ANSIBLE_CONFIG=deploy/ansible/ansible.cfg ansible-playbook deploy/ansible/playbook.yml

.PHONY: up cluster import deploy forward unforward backups backup restore pca pra status logs down \
	ansible validate-k8s validate-ansible

up: ## everything on k3d: cluster -> build -> image -> import -> deploy (then: make forward)
	@echo "==> make up: cluster, build, image, import, deploy (OVERLAY=$(OVERLAY), TAG=$(TAG))"
	$(MAKE) cluster
	$(MAKE) build
	$(MAKE) image
	$(MAKE) import
	$(MAKE) deploy

cluster: ## create the k3d cluster pra (1 server + 2 agents) if missing
	@$(WORKSHOP) cluster

import: ## import pra/api:TAG and pra/backup-agent:TAG into the k3d nodes
	@$(WORKSHOP) import

deploy: ## generate credentials once, kubectl apply -k deploy/k8s/OVERLAY, wait for the rollout
	@$(WORKSHOP) deploy

forward: ## port-forward the API to :8080 and the agent to :8081 in the background (restartable)
	@$(WORKSHOP) forward

unforward: ## stop the port-forwards
	@$(WORKSHOP) unforward

backups: ## list the restore points (the agent's GET /backups)
	@$(WORKSHOP) backups

backup: ## take a backup now (POST /backups with the token from the Secret)
	@$(WORKSHOP) backup

restore: ## restore ID=<backup id> (empty = latest): online via the agent; OFFLINE=1 with the Job
	@$(WORKSHOP) restore

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
		$(if $(TAGS),--tags $(TAGS)) $(if $(ID),-e restore_id=$(ID))

validate-k8s: ## render every overlay offline and validate it (schemas, rules, yamllint)
	@echo "==> validating deploy/k8s offline (tools/k8s-validate)"
	tools/k8s-validate/run.sh --tag $(TAG)

validate-ansible: ## ansible-playbook --syntax-check and ansible-lint (production profile)
	@echo "==> checking deploy/ansible: syntax and ansible-lint's production profile"
	@command -v ansible-lint >/dev/null || { echo "missing: sudo apt-get install ansible ansible-lint" >&2; exit 1; }
	cd deploy/ansible && ANSIBLE_CONFIG=ansible.cfg ansible-playbook playbook.yml --syntax-check
	cd deploy/ansible && ansible-lint
