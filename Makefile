# cocoa-jobs: `make run` starts everything locally, `make test` runs the suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PROTOS := $(wildcard protos/cocoa/*/v1/*.proto)
GENERATED := $(PROTOS:.proto=_pb2.py)

.DEFAULT_GOAL := help
.PHONY: help install lock protos run test lint format bench services clean

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

# constraints.txt pins every package to the versions the suite last passed with, so a fresh clone
# (and CI) installs what was tested rather than whatever PyPI released since.
$(STAMP): pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $(STAMP)

install: $(STAMP) ## create .venv and install the project with its dev tools

LOCK_VENV := $(VENV)-lock

lock: ## re-resolve the newest dependency versions into constraints.txt (then run make test)
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install -q --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install -q ".[dev]"
	{ sed -n '/^#/p' constraints.txt; $(LOCK_VENV)/bin/python -m pip freeze | grep -v '^cocoa-jobs'; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf $(LOCK_VENV)

$(GENERATED) &: $(PROTOS) $(STAMP)
	find protos/cocoa -name '*_pb2*.py*' -delete
	$(BIN)/python -m grpc_tools.protoc -I protos --python_out=protos --pyi_out=protos --grpc_python_out=protos $(PROTOS)

protos: $(GENERATED) ## generate the gRPC code into the cocoa.* packages

services: ## make sure the local PostgreSQL and Redis are up (tests use them)
	@scripts/ensure-services.sh

run: protos ## start every service on SQLite with demo data (Ctrl-C stops all)
	$(BIN)/python -m cocoa_jobs.run

# Most tests wait on PostgreSQL, gRPC and timers rather than the CPU, so three processes share
# two cores well; a file's tests stay in one process (--dist loadfile).
TEST_WORKERS ?= 3

test: protos services ## run the whole test suite against PostgreSQL and Redis
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile

lint: protos ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: ## apply ruff fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: protos services ## run the benchmarks (prints BENCH lines)
	$(BIN)/python bench/run_all.py

clean: ## remove the virtualenv, generated code and local state
	rm -rf $(VENV) $(LOCK_VENV) var build *.egg-info
	find protos/cocoa -name '*_pb2*.py*' -delete
