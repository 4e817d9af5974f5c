# Everything a fresh machine needs is installed into .venv by the `setup` target.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
PYTEST_ARGS ?=

.PHONY: setup demo test lint format bench e2e skill openbao kube clean deno-cache

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,telemetry]'
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

# The demo needs the runtime only: `pip install .` into its own venv (no test or lint tools).
DEMO_VENV ?= .venv-demo
DEMO_BIN  := $(DEMO_VENV)/bin

demo:
	@test -x $(DEMO_BIN)/python || $(PYTHON) -m venv $(DEMO_VENV)
	$(DEMO_BIN)/python -m pip install --quiet --disable-pip-version-check .
	$(DEMO_BIN)/tntc validate example-workflows/word-counter
	$(DEMO_BIN)/tntc visualize example-workflows/word-counter
	$(DEMO_BIN)/tntc run --local example-workflows/word-counter --input '{"text": "the cat and the hat and the bat"}'

lint: setup
	$(BIN)/ruff check src tests benchmarks example-workflows
	$(BIN)/ruff format --check src tests benchmarks example-workflows
	$(BIN)/mypy --strict src
	$(BIN)/lint-imports

# The Vault-API server the secret-provider tests start (cached under ~/.cache/tentacular).
openbao: setup
	PYTHON=$(BIN)/python bash tools/openbao/install.sh

# The real Kubernetes control plane the cluster suite starts: kube-apiserver, controller-manager,
# scheduler and kwok built from their Go modules once per machine (~/.cache/tentacular/kube-*).
# Without Go the real-cluster tests are skipped (one line here); CI sets TNTC_REQUIRE_KUBE=1.
kube:
	@if command -v go >/dev/null 2>&1; then bash tools/kube/build.sh >/dev/null; \
	elif [ "$${TNTC_REQUIRE_KUBE:-}" = 1 ]; then \
	  echo "make kube: TNTC_REQUIRE_KUBE=1 but there is no Go toolchain to build the control plane" >&2; exit 1; \
	else echo "make kube: no Go toolchain: the real-cluster tests (tests/cluster) will be skipped" >&2; fi

# npm: imports of the TypeScript examples, fetched once into Deno's cache (tests stay on loopback).
DENO_EXAMPLES := example-workflows/uptime-report
deno-cache: setup
	@for wf in $(DENO_EXAMPLES); do \
	  $(BIN)/deno cache --quiet --no-config --import-map=src/tentacular/engine/_deno/import_map.json \
	    --lock=$$wf/deno.lock --frozen $$wf/nodes/*.ts || exit 1; \
	done

test: lint openbao deno-cache kube
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

format: setup
	$(BIN)/ruff format src tests benchmarks example-workflows
	$(BIN)/ruff check --fix src tests benchmarks example-workflows

bench: setup
	$(BIN)/python -m benchmarks

skill: setup
	$(BIN)/tntc skill --write docs

e2e: setup
	$(BIN)/python -m pytest -q tests/e2e

clean:
	rm -rf $(VENV) $(DEMO_VENV) build dist src/*.egg-info
