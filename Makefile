# pra-kit: one target per step. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# better-sqlite3 has no reachable prebuilt binary here: compile it (about 3 minutes, once).
export npm_config_build_from_source := true
export NX_DAEMON ?= false
export NX_NO_CLOUD := true
export NX_TUI := false
NX := npx nx

.PHONY: help install build dev test lint format drill-pca drill-pra drill

help: ## list the targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# Reinstall only when the lockfile's content changed (a git checkout changes mtimes, not content).
LOCK_HASH = $(shell sha256sum package-lock.json | cut -c1-16)

install: ## install dependencies if missing or out of date
	@if [ "$$(cat node_modules/.installed 2>/dev/null)" != "$(LOCK_HASH)" ]; then \
	  echo "==> installing dependencies (npm ci; better-sqlite3 compiles from source)"; \
	  npm ci --no-audit --no-fund && echo "$(LOCK_HASH)" > node_modules/.installed; \
	fi

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

format: install ## format the code with prettier
	npx prettier --write .
