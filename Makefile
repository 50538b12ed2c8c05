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

format: install ## format the code with prettier
	npx prettier --write .
