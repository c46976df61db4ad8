# Sviedka — the two commands a fresh machine needs: `make run` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
BIN     = $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
STAMP   = $(VENV)/.installed

.PHONY: run test lint bench install translations clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	touch $(STAMP)

install: $(STAMP) translations

translations: $(STAMP)
	$(BIN)/pybabel -q compile -d registry/translations -D messages

run: install
	REGISTRY_BASE_URL=$${REGISTRY_BASE_URL:-http://$(HOST):$(PORT)} $(BIN)/registry init
	@# Beside gunicorn, in the background, and stopped with it: scheduled
	@# maintenance always (README "Maintenance"), and the Telegram bot when
	@# REGISTRY_TELEGRAM_TOKEN is set (README "Telegram").
	export REGISTRY_BASE_URL=$${REGISTRY_BASE_URL:-http://$(HOST):$(PORT)}; \
	$(BIN)/registry maintain --loop & helpers=$$!; \
	if [ -n "$${REGISTRY_TELEGRAM_TOKEN:-}" ]; then \
		$(BIN)/registry telegram run & helpers="$$helpers $$!"; \
	fi; \
	trap 'kill $$helpers 2>/dev/null; wait $$helpers' EXIT INT TERM; \
	HOST=$(HOST) PORT=$(PORT) $(BIN)/gunicorn -c gunicorn.conf.py registry.wsgi:app

# axe-core for the browser tests' accessibility audit (tests/e2e/test_every_page.py),
# exactly as pinned in package-lock.json.
AXE = node_modules/axe-core/axe.min.js

$(AXE): package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $(AXE)

test: install $(AXE)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest

bench: install
	$(BIN)/pip install --quiet -e ".[test,bench]"
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info
