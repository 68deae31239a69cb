# Each target creates the virtual environment it needs: a fresh clone needs only Python 3.11+ and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
SCENARIO ?= scenarios/inbound_saas.yaml
JOBS ?= auto  # pytest worker processes: one per core
# make test skips the tests marked slow (fuzzing, interval coverage); FULL=1 runs them too (CI).
MARKS := $(if $(FULL),,-m "not slow")

.PHONY: run test lint bench bench-parallel docs notebooks screenshots clean

$(BIN)/simfunnel: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

run: $(BIN)/simfunnel
	$(BIN)/simfunnel run $(SCENARIO)

test: $(BIN)/simfunnel
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy
	$(BIN)/python -m pytest -q -n $(JOBS) $(MARKS)

lint: $(BIN)/simfunnel
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/mypy

bench: $(BIN)/simfunnel
	$(BIN)/python benchmarks/bench_engine.py

bench-parallel: $(BIN)/simfunnel
	$(BIN)/python benchmarks/bench_parallel.py

# Every report at 1280 and 400 px, as PDF pages, and the what-if page before and after a change
# (build/screenshots/); needs Debian's chromium.
screenshots: $(BIN)/simfunnel
	$(BIN)/python tools/screenshots.py build/screenshots

notebooks: $(BIN)/simfunnel
	$(BIN)/python -m pip install --quiet -e ".[dev,notebooks]"
	$(BIN)/jupyter lab notebooks/

docs: $(BIN)/simfunnel
	$(BIN)/python tools/docgen.py
	$(BIN)/python tools/kpidoc.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache
