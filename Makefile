# Two commands matter: `make run` and `make test`. Both work from a fresh clone.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test test-fast test-postgres test-scale lint format check-python browser-deps mail-deps redis-deps clean

check-python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Facilitator needs Python 3.11 or newer (set PYTHON=...)")'

$(BIN)/python: | check-python
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the project's dependencies change.
$(VENV)/.run-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.test-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $@ $(VENV)/.run-installed

## run: install, migrate the SQLite file, load the demo on first run, serve on :8000
run: $(VENV)/.run-installed
	$(BIN)/facilitator serve --demo

AXE := .cache/npm/node_modules/axe-core/axe.min.js

## test-fast: the pure flow and the services on real SQLite files (under 30 s; no servers,
## no browser): what to run after each change
test-fast: $(VENV)/.test-installed
	$(BIN)/pytest -n auto tests/unit tests/services -q

## test: install what the tests need, then lint, type-check and run every test (the in-process
## tiers spread over the cores; the tiers with real servers and Chromium four files at a time,
## each file's servers and browser on one worker: they wait on sockets and pages half the time)
test: $(VENV)/.test-installed browser-deps mail-deps redis-deps lint
	$(BIN)/pytest -n auto tests/unit tests/services tests/http
	$(BIN)/pytest -n 4 --dist loadfile tests/live tests/browser

# Debian's Chromium for the browser tests (Playwright's own browser download is not used), and
# axe-core from the npm registry for the accessibility check. Each only when missing.
browser-deps: $(AXE)
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Chromium (Debian package)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "Chromium is missing: run 'sudo apt-get install chromium' (or make test as root)"; exit 1; \
	  fi; }

# Debian's Dovecot: the real IMAP mailbox the bounce tests read reports from. Only when missing.
mail-deps:
	@command -v dovecot >/dev/null 2>&1 || [ -x /usr/sbin/dovecot ] || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing Dovecot's IMAP server (Debian package; not started as a service)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null; \
	  else \
	    echo "Dovecot is missing: run 'sudo apt-get install dovecot-imapd' (or make test as root)"; exit 1; \
	  fi; }

# Debian's Redis: the hub and the limits that several processes share are tested against a real
# redis-server, which the tests start on a free port of their own. Only when missing.
redis-deps:
	@command -v redis-server >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing redis-server (Debian package; not started as a service)"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	    service redis-server stop >/dev/null 2>&1 || true; \
	  else \
	    echo "redis-server is missing: run 'sudo apt-get install redis-server' (or make test as root)"; exit 1; \
	  fi; }

$(AXE):
	mkdir -p .cache/npm
	cd .cache/npm && npm install --no-save --no-audit --no-fund --silent axe-core@4

## test-postgres: the database tests again on a local PostgreSQL (installed and started if
## missing, which needs root; CI does this after `make test`)
test-postgres: $(VENV)/.test-installed
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	FACILITATOR_TEST_POSTGRES="$$(scripts/local-postgres)" $(BIN)/pytest -m "not slow"

## test-scale: two serve processes behind Debian's nginx (TLS, deploy/nginx.conf) on a local
## PostgreSQL, sharing rooms through a real redis-server (each installed when missing, as root)
test-scale: $(VENV)/.test-installed
	$(BIN)/pip install --quiet -e '.[test,postgres]'
	scripts/scale-deps
	FACILITATOR_TEST_POSTGRES="$$(scripts/local-postgres)" $(BIN)/pytest tests/scale

lint: $(VENV)/.test-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.test-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

clean:
	rm -rf $(VENV) var .cache test-artifacts .pytest_cache .mypy_cache .ruff_cache
