# The front door: README, CI and people run these targets.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
ZIZHU := $(VENV)/bin/zizhu
PG_URL ?= postgres://postgres@127.0.0.1:5432/zizhu
DEMO_STUDENTS ?= 2000
PYTEST_ARGS ?= -n 2

.PHONY: help venv run demo migrate test test-sqlite test-pg check lint fmt typecheck migrations-check browser-deps pg-up bench clean

help:
	@echo "make run    - install, migrate, seed the demo district, serve http://127.0.0.1:8000"
	@echo "make test   - lint, types, migrations check, the suite on SQLite and on PostgreSQL"
	@echo "make bench  - benchmarks (results go to docs/benchmarks.md by hand, with the command)"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

migrate: venv
	$(ZIZHU) migrate --noinput

demo: migrate
	$(ZIZHU) seed-demo --students $(DEMO_STUDENTS) --seed 1 --if-empty

# The background worker (imports, cross-check runs) runs beside the web server and stops
# with it.
run: demo
	$(ZIZHU) demo-logins
	$(ZIZHU) db_worker --no-reload & worker=$$!; \
	trap 'kill $$worker 2>/dev/null' EXIT INT TERM; \
	$(ZIZHU) runserver 127.0.0.1:8000

# --- checks -----------------------------------------------------------------------------

lint: venv
	$(VENV)/bin/ruff format --check src tests bench
	$(VENV)/bin/ruff check src tests bench

fmt: venv
	$(VENV)/bin/ruff format src tests bench
	$(VENV)/bin/ruff check --fix src tests bench

typecheck: venv
	$(VENV)/bin/mypy src

migrations-check: venv
	DJANGO_SETTINGS_MODULE=zizhu.config.settings.test $(ZIZHU) makemigrations --check --dry-run

check: lint typecheck migrations-check

# Debian packages the tests need: Chromium for the Playwright browser tests (Playwright never
# downloads a browser), CJK fonts for WeasyPrint's PDFs (hanazono covers rare characters in
# names), poppler-utils to look at rendered pages.
DEBIAN_PACKAGES := chromium fonts-noto-cjk fonts-hanazono poppler-utils
browser-deps:
	@dpkg -s $(DEBIAN_PACKAGES) >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; }

pg-up:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done; echo "PostgreSQL did not start"; exit 1

test-sqlite: venv browser-deps
	DJANGO_ALLOW_ASYNC_UNSAFE=true $(VENV)/bin/pytest $(PYTEST_ARGS)

# pytest-django creates and drops a throwaway test_zizhu* database per worker.
test-pg: venv browser-deps pg-up
	DATABASE_URL=$(PG_URL) DJANGO_ALLOW_ASYNC_UNSAFE=true $(VENV)/bin/pytest $(PYTEST_ARGS) --create-db

test: check test-sqlite test-pg

bench: venv
	$(PY) bench/run.py

clean:
	rm -rf $(VENV) var/*.sqlite3* staticfiles
