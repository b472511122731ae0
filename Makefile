# medpay — the commands a newcomer, CI and operators use.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
BUF := .tools/node_modules/.bin/buf
INSTALLED := $(VENV)/.installed
GENERATED := services/medpay/.generated
PROTOS := $(shell find protos -name '*.proto' | sort)
PYTEST_WORKERS ?= 2

.PHONY: help install proto certs lint test fuzz run demo bench clean

help:
	@echo "make run    start all services on the embedded default (SQLite under var/)"
	@echo "make demo   tell the whole story against the running stack"
	@echo "make test   the whole test suite, the way CI runs it"
	@echo "make fuzz   the fuzz suite with many more examples per RPC (long; FUZZ_PROFILE=long)"
	@echo "make bench  settlement throughput and latency against a bare gRPC echo"
	@echo "make lint   buf lint + ruff;  make proto / certs / install / clean"

install: $(INSTALLED)
$(INSTALLED): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e '.[dev]'
	touch $@

proto: $(GENERATED)
$(GENERATED): $(INSTALLED) $(PROTOS)
	rm -rf services/medpay
	$(PY) -m grpc_tools.protoc -I protos --python_out=services --pyi_out=services \
		--grpc_python_out=services $(PROTOS)
	find services/medpay -type d -exec touch {}/__init__.py \;
	touch $@

certs: $(INSTALLED)
	$(PY) -m medpay_kit.pki var/pki

$(BUF):
	npm install --silent --no-audit --no-fund --prefix .tools @bufbuild/buf@1

lint: $(BUF) $(GENERATED)
	cd protos && ../$(BUF) lint
	$(VENV)/bin/ruff check services tests

test: $(GENERATED) certs
	$(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

FUZZ_PROFILE ?= long
fuzz: $(GENERATED) certs
	MEDPAY_FUZZ_PROFILE=$(FUZZ_PROFILE) $(PY) -m pytest -n $(PYTEST_WORKERS) --dist loadfile tests/fuzz $(PYTEST_ARGS)

run: $(GENERATED) certs
	$(PY) -m medpay_cli.main run

demo: $(GENERATED) certs
	$(PY) -m medpay_cli.main demo

bench: $(GENERATED) certs
	$(PY) tests/bench/bench.py

clean:
	rm -rf services/medpay var .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
