# potential — run `make help` for the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
WORKSPACE ?= demo

.DEFAULT_GOAL := help
.PHONY: help install demo test test-all lint format bench bench-quick bench-classic clean

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-10s\033[0m %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	@touch $(STAMP)

install: $(STAMP) ## Create .venv and install the package with dev extras (idempotent)

demo: install ## Generate the synthetic portfolio and run the whole pipeline into ./demo
	$(BIN)/potential demo --out $(WORKSPACE)

test: install ## Run the test suite (fast; slow and dask tests excluded)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile

test-all: install ## Run every test, slow and dask ones included
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m ""

lint: install ## Lint (ruff), check the layers (import-linter) and the types of the engine seam (mypy)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/mypy src/potential/engines src/potential/app src/potential/api.py

format: install ## Format with ruff
	$(BIN)/ruff format src tests benchmarks
	$(BIN)/ruff check --fix src tests benchmarks

bench: install ## Run the benchmarks and rewrite BENCHMARKS.md
	$(BIN)/python benchmarks/run_all.py

bench-quick: install ## Smoke-run the benchmarks at small sizes
	$(BIN)/python benchmarks/run_all.py --quick

bench-classic: install ## Rerun only the product vs BG/NBD, momentum rule and logistic regression (bench_classic)
	$(BIN)/python benchmarks/run_all.py --only bench_classic

clean: ## Remove the demo workspace and caches
	rm -rf $(WORKSPACE) .pytest_cache .ruff_cache
