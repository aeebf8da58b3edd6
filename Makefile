# Ragline: `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3 2>/dev/null)
UV_VERSION := 0.13.9
TOOLS := .tools
UV := $(TOOLS)/bin/uv
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export UV_PYTHON := $(PYTHON)

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk -F':.*?## ' '{printf "  %-14s %s\n", $$1, $$2}'

.PHONY: check-python
check-python:
	@if [ -z "$(PYTHON)" ]; then echo "Ragline needs Python 3.11; no python3 found on PATH." >&2; exit 1; fi
	@$(PYTHON) -c 'import sys; v = sys.version_info; sys.exit(0 if v[:2] == (3, 11) else "Ragline needs Python 3.11 (found %d.%d at $(PYTHON)); set PYTHON=/path/to/python3.11." % v[:2])'

$(UV): | check-python
	@$(PYTHON) -m venv $(TOOLS)
	@$(TOOLS)/bin/pip install --quiet uv==$(UV_VERSION)

$(BIN)/ragline: uv.lock pyproject.toml $(wildcard libs/*/pyproject.toml services/*/pyproject.toml) | $(UV)
	@$(UV) sync --frozen --quiet
	@touch $@

# Bytecode compiled once per sync (issue 15, cold start). Where PYTHONDONTWRITEBYTECODE is set
# (containers, CI, our build machines) Python never caches what it compiles, so every start
# compiled ~1,600 modules again: 2-3 s of CPU of a 4.5 s start. torch, sympy and networkx are
# skipped: no serving process imports them (ADR 17) and they are most of the venv's files. A package
# may ship a file in newer Python syntax that cannot compile, hence `|| true` (its source is used).
$(VENV)/.bytecode: $(BIN)/ragline
	@$(BIN)/python -m compileall -q -j 0 -x "site-packages/(torch|sympy|networkx|functorch)/" $(VENV)/lib > /dev/null || true
	@touch $@

.PHONY: install
install: check-python $(BIN)/ragline $(VENV)/.bytecode ## Install the workspace into .venv from the lock file (CPU-only torch) and export the ONNX embedder once
	@# Our own packages are editable installs, which the bytecode step above does not reach.
	@$(BIN)/python -m compileall -q libs/*/src services/*/src > /dev/null
	@# Offline, and a no-op once the export is cached (ADR 17): `make run` then starts without torch.
	@# It also checks the exported files and stamps them, so a start skips the reference sample.
	@$(BIN)/python -W ignore -m ragline_common.adapters.embedder.onnx.export > /dev/null

.PHONY: run
run: install console ## Run the whole suite in one process on 127.0.0.1:8000 (console at /console, data in ./.ragline)
	$(BIN)/ragline run --target all

# The web console (console/, issue 16): `npm ci` when the lock file changed, `npm run build` when
# a source changed, nothing otherwise. Without Node.js it says so and the API still runs.
CONSOLE_DEPS := console/node_modules/.ragline-deps
CONSOLE_BUILT := console/dist/index.html
CONSOLE_SOURCES = $(shell find console/src console/public -type f 2>/dev/null) \
	$(wildcard console/index.html console/vite.config.ts console/tsconfig*.json)
CHROMIUM ?= /usr/bin/chromium
export CHROMIUM

.PHONY: console
console: ## Build the web console into console/dist when its sources changed (skipped without npm)
	@if command -v npm >/dev/null 2>&1; then \
		$(MAKE) --no-print-directory $(CONSOLE_BUILT); \
	else \
		echo "console: npm not found, skipping the console build (install Node.js 20+ and run make console)"; \
	fi

$(CONSOLE_DEPS): console/package-lock.json console/package.json
	cd console && npm ci --no-audit --no-fund
	@touch $@

$(CONSOLE_BUILT): $(CONSOLE_DEPS) $(CONSOLE_SOURCES)
	cd console && npm run build
	@touch $@

.PHONY: console-test
console-test: console ## The console's component tests (Vitest), then its browser tests (Playwright) when Chromium exists
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "console-test: npm not found, skipping the console's tests"; [ "$$CI" != "true" ]; exit; fi; \
	cd console && npm test && \
	if [ -x "$(CHROMIUM)" ]; then npm run e2e; \
	elif [ "$$CI" = "true" ]; then echo "console-test: no Chromium at $(CHROMIUM) under CI=true (deploy/local/install-tools.sh installs it)"; exit 1; \
	else echo "console-test: no Chromium at $(CHROMIUM) (apt-get install chromium, or set CHROMIUM=...), skipping the browser tests"; fi

.PHONY: services
services: ## Start local RabbitMQ, Redis and PostgreSQL if installed but stopped
	@deploy/local/ensure-services.sh

.PHONY: test
test: install services ## Unit, integration and end-to-end tests, then the console's (console-test)
	$(BIN)/pytest $(PYTEST_ARGS)
	@$(MAKE) --no-print-directory console-test

.PHONY: lint
lint: install ## ruff and mypy --strict
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy libs/common/src libs/cli/src libs/testing/src services/gateway/src services/ingestion/src services/retrieval/src services/generation/src

.PHONY: bench-parse
bench-parse: install ## Extraction quality per groundtruth file -> bench-results/parse.json
	$(BIN)/python services/ingestion/benchmarks/bench_parse.py

.PHONY: bench-embed
bench-embed: install ## Every local embedding backend on SciFact chunks: speed, nDCG@10, cosine to torch -> bench-results/embed.json
	$(BIN)/python -W ignore services/ingestion/benchmarks/bench_embed.py --data $(DATA) $(BENCH_ARGS)

.PHONY: bench-ingest
bench-ingest: install services ## SciFact through the real queue and worker vs the bare default and torch encodes -> bench-results/ingest.json
	$(BIN)/python services/ingestion/benchmarks/bench_ingest.py $(BENCH_ARGS)

DATA ?= ../shared/data/scifact

.PHONY: eval
eval: install ## nDCG@10/recall@100/MRR@10 per search mode on a BEIR folder (DATA=...) -> bench-results/eval-<set>.json
	$(BIN)/python services/retrieval/benchmarks/eval_beir.py --data $(DATA) $(EVAL_ARGS)

.PHONY: bench-search
bench-search: install ## Search latency: bare engine (default, torch) vs POST /v1/search, 1 and 50 clients, vs the torch build -> bench-results/search.json
	$(BIN)/python services/retrieval/benchmarks/bench_search.py --data $(DATA) $(BENCH_ARGS)

.PHONY: bench-ttfb
bench-ttfb: install ## Streamed answer time to first byte: gateway vs the model's own first token -> bench-results/ttfb.json
	$(BIN)/python services/generation/benchmarks/bench_ttfb.py $(BENCH_ARGS)

.PHONY: bench-start
bench-start: install ## Cold start of `ragline run --target all` to /readyz 200 (median of 5) -> bench-results/start.json
	$(BIN)/python libs/cli/benchmarks/bench_start.py $(BENCH_ARGS)

.PHONY: bench
bench: bench-parse bench-embed bench-ingest bench-search bench-ttfb bench-start ## Every benchmark

.PHONY: lock
lock: | $(UV) ## Re-resolve uv.lock after changing dependencies
	$(UV) lock

.PHONY: clean
clean: ## Remove the virtual environments and caches (keeps ./.ragline data)
	rm -rf $(VENV) $(TOOLS) .mypy_cache .ruff_cache .pytest_cache
