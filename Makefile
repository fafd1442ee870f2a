# hardtofill: every target creates .venv and installs the project when missing, so that on a
# fresh machine `make serve` and `make test` are the only two commands a user needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# Nothing may leave the machine: telemetry off for mlflow, bentoml and evidently.
export MLFLOW_DISABLE_TELEMETRY := true
export DO_NOT_TRACK := true
export BENTOML_DO_NOT_TRACK := true
export BENTOML_HOME := $(CURDIR)/bentoml_home
export MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR := false
export GIT_PYTHON_REFRESH := quiet

HISTORY ?= $(or $(HARDTOFILL_HISTORY_PATH),data/offers_history.parquet)
HISTORY_LINES := $(basename $(HISTORY)).jsonl.gz

.DEFAULT_GOAL := help
.PHONY: help venv data train serve monitor monitor-ui mlflow-ui bench test lint notebooks

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "} {printf "  make %-12s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $(STAMP)

venv: $(STAMP) ## Create the virtual environment and install the project

data: $(STAMP) ## Generate the default offer history (300,000 offers, 24 months) and ingest it into Parquet
ifeq ($(suffix $(HISTORY)),.parquet)
	@test -e $(HISTORY) || { test -f $(HISTORY_LINES) || $(BIN)/hardtofill generate --out $(HISTORY_LINES); \
		$(BIN)/hardtofill ingest $(HISTORY_LINES) --out $(HISTORY); }
else
	@test -f $(HISTORY) || $(BIN)/hardtofill generate --out $(HISTORY)
endif

train: data ## Train, evaluate, audit and promote a model (MLflow in mlruns/)
	$(BIN)/hardtofill train

serve: data ## Serve the API and the advisers' page on 127.0.0.1:3000 (trains first if no champion)
	$(BIN)/hardtofill serve

monitor: $(STAMP) ## Monitoring reports (drift, quality, fairness) and alerts
	$(BIN)/hardtofill monitor

monitor-ui: $(STAMP) ## The Evidently workspace UI on 127.0.0.1:8000
	$(BIN)/evidently ui --workspace $(or $(HARDTOFILL_WORKSPACE_DIR),monitoring_workspace) --host 127.0.0.1 --port 8000

mlflow-ui: $(STAMP) ## The MLflow UI on 127.0.0.1:5000
	$(BIN)/mlflow ui --backend-store-uri $(or $(HARDTOFILL_TRACKING_URI),sqlite:///mlruns/mlflow.db) --host 127.0.0.1 --port 5000

bench: $(STAMP) ## Benchmarks (throughput, latency, memory); results under benchmarks/results/
	$(BIN)/python -m benchmarks

# Test workers (pytest-xdist): one per core of CI's two. --dist loadfile keeps each module on one
# worker, so its module fixtures (a training, a server) are built once; each worker builds the
# session's shared histories and champion when it first needs them. (--dist loadgroup would group
# finer, but pytest-xdist 3.8 sets the node id in a way pytest 9 no longer reads: it does not group.)
TEST_WORKERS ?= 2

test: $(STAMP) ## The whole test suite (unit, data checks, integration, browser, notebooks)
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist loadfile

notebooks: $(STAMP) ## Execute the notebooks (executed copies in reports/notebooks/)
	$(BIN)/python notebooks/run.py

lint: $(STAMP) ## Ruff
	$(BIN)/ruff check .
