# The README's two commands (`make run`, `make test`) and a few helpers.
.DEFAULT_GOAL := run
.PHONY: run cluster test test-fast lint lint-k8s typecheck bench protos proto-drift lint-protos proto-breaking proto-release lock lock-check image-check clean

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# Stamp: reinstall only when pyproject.toml changed since the last successful install.
INSTALLED := $(VENV)/.installed
PYTEST_ARGS ?=

run: $(INSTALLED)
	exec $(VENV)/bin/samhandling up

# Two replicas of every component on a throwaway PostgreSQL behind HAProxy (docs/operations.md "Running a cluster").
# As root on Debian/Ubuntu the PostgreSQL server and HAProxy are installed when missing (said first);
# elsewhere `samhandling cluster` stops and says how to install them.
cluster: $(INSTALLED)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  missing=""; \
	  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing="$$missing postgresql"; \
	  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing="$$missing haproxy"; \
	  if [ -n "$$missing" ]; then echo "installing from Debian:$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null || exit 1; fi; \
	fi
	exec $(VENV)/bin/samhandling cluster

# The browser tests run axe-core from node_modules/ on every page. The tests run in one
# pytest-xdist worker per CPU (at most 4; PYTEST_WORKERS=0 runs them in this process), each
# taking a whole test module at a time, so a module's shared servers start once.
PYTEST_WORKERS ?= $(shell python3 -c 'import os; print(min(4, len(os.sched_getaffinity(0))))')
test: $(INSTALLED) node_modules/.package-lock.json
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# tests/unit only: pure tests (no sockets, servers, processes or databases; tests/unit/conftest.py
# enforces it) with the `dev` Hypothesis profile unless CI=true or HYPOTHESIS_PROFILE says otherwise
# (docs/development.md). Spread over the workers test by test: no module shares a server here.
test-fast: $(INSTALLED)
	$(PY) -m pytest tests/unit -q -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

bench: $(INSTALLED)
	$(PY) -m bench

lint: $(INSTALLED)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

# checkov (static analysis) over every rendered overlay of k8s/ and the Dockerfile, in a virtual
# environment of its own: it brings some 70 packages and would pin `packaging` down to 23.2.
# Suppressions are `checkov.io/skip` annotations on the objects, each with its reason.
CHECKOV_VENV := .venv-checkov
CHECKOV := $(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download
$(CHECKOV_VENV)/.installed: Makefile | $(PY)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check 'checkov==3.3.30'
	touch $@

lint-k8s: $(INSTALLED) $(CHECKOV_VENV)/.installed
	rm -rf build/k8s && mkdir -p build/k8s
	for overlay in k8s/overlays/*/; do \
	  $(VENV)/bin/kubectl kustomize $$overlay > build/k8s/$$(basename $$overlay).yaml || exit 1; done
	$(CHECKOV) --framework kubernetes -d build/k8s
	if [ -f Dockerfile ]; then $(CHECKOV) --framework dockerfile -f Dockerfile; fi

# mypy over gateway/ and services/ with the settings in pyproject.toml ([tool.mypy]); zero errors.
typecheck: $(INSTALLED)
	$(VENV)/bin/mypy

protos: $(INSTALLED)
	PY=$(abspath $(PY)) scripts/gen_protos.sh

proto-drift: $(INSTALLED)
	PY=$(abspath $(PY)) scripts/check_proto_drift.sh

# requirements.lock: the container image's runtime dependencies with hashes (docs/container-image.md).
# `make lock` after changing [project] dependencies; `make lock-check` (CI) fails when it no longer matches.
lock: $(INSTALLED)
	UV=$(abspath $(VENV))/bin/uv scripts/compile_lock.sh requirements.lock

lock-check: $(INSTALLED)
	UV=$(abspath $(VENV))/bin/uv scripts/check_lock.sh

# Builds the image with buildah on a debootstrap base (no registry) and checks it; root, Debian (docs/container-image.md).
image-check:
	scripts/build_image.sh

# npm keeps node_modules/.package-lock.json; it is older than package-lock.json when deps are stale.
node_modules/.package-lock.json: package-lock.json package.json
	npm ci --no-audit --no-fund

lint-protos: node_modules/.package-lock.json
	npx --no buf lint protos

# buf breaking (protos/buf.yaml: FILE, the strictest set) against the protos as last released,
# kept as a buf image beside them: a clean or shallow clone needs no tags or history for it.
proto-breaking: node_modules/.package-lock.json
	npx --no buf breaking protos --against protos/release-image.json

# At a release: the protos as released become the baseline of proto-breaking.
proto-release: node_modules/.package-lock.json
	npx --no buf build protos --exclude-source-info -o protos/release-image.json

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null || { \
	  echo "error: Python >= 3.11 is required; '$(PYTHON)' is $$($(PYTHON) --version 2>/dev/null || echo missing)." >&2; \
	  echo "       Install it or point make at one: make PYTHON=python3.12 ..." >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(INSTALLED): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $@

clean:
	rm -rf var/ .pytest_cache/ .mypy_cache/ build/ *.egg-info $(CHECKOV_VENV)
	find . -path ./$(VENV) -prune -o -path ./node_modules -prune -o -name __pycache__ -type d -exec rm -rf {} +
