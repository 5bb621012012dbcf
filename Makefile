# Vigil's two commands: `make run` and `make test`. Everything else is set-up they call.
# The virtual environment is built by uv from uv.lock (exact, hashed versions); uv itself
# is bootstrapped with the machine's own python3 into .tools/, pinned below. The mlflow group
# brings a real `mlflow server` for the MLflow registry tests (the product never imports it);
# the browser group brings Playwright, which drives the machine's own chromium (apt install
# chromium) in tests/browser/ and never downloads a browser of its own.
PYTHON     ?= python3
UV_VERSION := 0.13.9
TOOLS      := .tools
UV         := $(TOOLS)/bin/uv
VENV       := .venv
export UV_PROJECT_ENVIRONMENT := $(CURDIR)/$(VENV)
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := $(PYTHON)
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD := 1

.PHONY: run test venv lint typecheck unit clean check serve demo bench bench-quick bench-ingest

$(UV):
	$(PYTHON) -m pip install --quiet --disable-pip-version-check --target $(TOOLS) uv==$(UV_VERSION)

$(VENV)/.synced: uv.lock pyproject.toml | $(UV)
	PYTHONPATH=$(TOOLS) $(UV) sync --frozen --group dev --group mlflow --group browser --group spark
	touch $@

venv: $(VENV)/.synced

run: venv
	$(VENV)/bin/vigil run

demo: venv
	$(VENV)/bin/vigil demo

serve: venv
	$(VENV)/bin/vigil serve

check: venv
	$(VENV)/bin/vigil check

lint: venv
	$(VENV)/bin/ruff check bot tests
	$(VENV)/bin/ruff format --check bot tests

typecheck: venv
	$(VENV)/bin/mypy

# Two pytest workers (pytest-xdist): each has its own PostgreSQL database (tests/conftest.py).
test: venv
	$(VENV)/bin/pytest -n 2
	$(MAKE) --no-print-directory lint typecheck

clean:
	rm -rf $(VENV) .venv-bench $(TOOLS) .mypy_cache .ruff_cache .pytest_cache

# Benchmarks (bench/README.md) in their own environment: the bench group adds Evidently, the
# drift comparison's baseline, which `make test` never installs.
BENCH_VENV := .venv-bench

$(BENCH_VENV)/.synced: uv.lock pyproject.toml | $(UV)
	UV_PROJECT_ENVIRONMENT=$(CURDIR)/$(BENCH_VENV) PYTHONPATH=$(TOOLS) $(UV) sync --frozen --group bench
	touch $@

bench: $(BENCH_VENV)/.synced
	PYTHONPATH=. $(BENCH_VENV)/bin/python bench/drift_bench.py
	PYTHONPATH=. $(BENCH_VENV)/bin/python bench/quality_bench.py

bench-quick: $(BENCH_VENV)/.synced
	PYTHONPATH=. $(BENCH_VENV)/bin/python bench/drift_bench.py --quick
	PYTHONPATH=. $(BENCH_VENV)/bin/python bench/quality_bench.py --quick

# Issue 14's ingestion storm against real `vigil serve` processes on SQLite and PostgreSQL
# (bench/README.md); the main environment is enough. ARGS=--quick for a fast check.
bench-ingest: venv
	PYTHONPATH=. $(VENV)/bin/python bench/ingest_bench.py $(ARGS)
