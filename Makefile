# drf_scim: `make run` serves the sample site, `make test` builds the docs and runs the whole suite (SQLite and
# PostgreSQL) and the smoke test of the built wheel.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
POSTGRES_URL ?= postgres:///scim_test
PGBOUNCER_URL ?= postgres://scim@127.0.0.1:6433/scim_test
# What passes through PgBouncer in transaction mode: the resource, PATCH, Bulk, filter, ETag, paging and
# concurrency tests, the sample site under gunicorn with persistent connections, and the benchmark's workloads
# (make bench BENCH_ARGS=--pgbouncer runs them at full size).
PGBOUNCER_TESTS ?= tests/test_users.py tests/test_groups.py tests/test_patch.py tests/test_bulk.py \
	tests/test_filters.py tests/test_etags.py tests/test_cursor_pagination.py tests/test_concurrency.py \
	tests/test_gunicorn.py \
	tests/test_benchmarks.py::test_the_driver_finds_the_seeded_data_and_replays_every_workload \
	tests/test_benchmarks.py::test_the_curve_replays_its_workloads_with_cursors_at_90_percent_and_filters_that_match_a_few_users
MANAGE := $(BIN)/python sample_site/manage.py
# The issuer (iss) of the sample site's SCIM events: the same for the server, whose receiver checks it, and the worker.
EVENTS_ENV := SCIM_EVENTS_ISSUER=http://$(HOST):$(PORT)/scim/v2

.PHONY: install install-bench run events test test-sqlite test-postgres test-pgbouncer test-wheel docs lint format openapi bench \
	bench-compare bench-sync bench-curve bench-profile clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,docs]'
	touch $@

install: $(BIN)/.installed

$(BIN)/.installed-bench: $(BIN)/.installed
	$(BIN)/python -m pip install -q -e '.[dev,docs,bench]'
	touch $@

install-bench: $(BIN)/.installed-bench

run: install
	$(MANAGE) migrate --noinput -v0
	$(MANAGE) scim_seed --users 5 --groups 2
	@token=$$($(MANAGE) scim_token --client sample-site | tail -n 1); \
	other=$$($(MANAGE) scim_token --client globex --tenant globex | tail -n 1); \
	admin=$$(DJANGO_DEBUG=1 $(MANAGE) demo_admin | tail -n 1); \
	$(MANAGE) sample_receiver --url http://$(HOST):$(PORT)/events/receiver >/dev/null; \
	echo ""; \
	echo "SCIM base URL: http://$(HOST):$(PORT)/scim/v2"; \
	echo "Bearer token:  $$token"; \
	echo "               (a second tenant, empty: $$other)"; \
	echo "Swagger UI:    http://$(HOST):$(PORT)/api/docs/  (Authorize: paste the token under bearerAuth)"; \
	echo "Django admin:  http://$(HOST):$(PORT)/admin/  ($$admin)"; \
	echo "Connections:   http://$(HOST):$(PORT)/admin/drf_scim/scimclient/  (tokens, tenants, activity)"; \
	echo "Audit trail:   http://$(HOST):$(PORT)/admin/drf_scim/scimchange/  (every change, who made it, old and new)"; \
	echo "Events:        run \`make events\` in a second terminal; received SETs: http://$(HOST):$(PORT)/events/"; \
	echo ""; \
	echo "Try:  curl -H 'Authorization: Bearer $$token' http://$(HOST):$(PORT)/scim/v2/Users"; \
	echo ""
	$(EVENTS_ENV) DJANGO_DEBUG=1 $(MANAGE) runserver $(HOST):$(PORT)

# The SCIM events worker of the sample site (beside `make run`): pushes each change's SET to its sample receiver.
events: install
	$(EVENTS_ENV) $(MANAGE) scim_events deliver

test: lint docs test-sqlite test-postgres test-pgbouncer test-wheel

test-sqlite: install
	env -u DATABASE_URL $(BIN)/pytest

# Starts the local PostgreSQL cluster when it is not running (see .ci/postgres).
test-postgres: install
	.ci/postgres
	DATABASE_URL=$(POSTGRES_URL) $(BIN)/pytest
	DATABASE_URL=$(POSTGRES_URL) DATABASE_SERVER_SIDE_BINDING=1 $(BIN)/pytest -q

# Through a PgBouncer in transaction mode (.ci/pgbouncer starts one, installing it when missing), with
# server-side binding as docs/howto/deploying.rst recommends.
test-pgbouncer: install
	.ci/postgres
	.ci/pgbouncer
	DATABASE_URL=$(PGBOUNCER_URL) DATABASE_SERVER_SIDE_BINDING=1 DATABASE_TRANSACTION_POOLING=1 \
		$(BIN)/pytest -q $(PGBOUNCER_TESTS)

# python -m build without a warning, then the wheel in a fresh virtualenv: migrate, scim_token, SCIM requests.
test-wheel: install
	PYTHON=$(PYTHON) BUILD_PYTHON=$(BIN)/python .ci/wheel-smoke

# The documentation (docs/, Sphinx) into build/docs/; warnings are errors.
docs: install
	$(BIN)/sphinx-build -q -W --keep-going -b html docs build/docs

# The OpenAPI document of the sample site, checked in (a test fails when it is out of date).
openapi: install
	$(MANAGE) spectacular --validate --fail-on-warn --file openapi/openapi.yaml

# drf_scim against django-scim2 and the floor at 100,000 users on PostgreSQL (benchmarks/run.py --help).
bench: install-bench
	.ci/postgres
	$(BIN)/python benchmarks/run.py $(BENCH_ARGS)

# An Entra-shaped full sync (10,000 users, 100 groups) against drf_scim and django-scim2 (benchmarks/full_sync.py --help).
bench-sync: install-bench
	.ci/postgres
	$(BIN)/python benchmarks/full_sync.py $(BENCH_ARGS)

# drf_scim's cost per request at 10,000, 100,000 and 1,000,000 users (benchmarks/curve.py --help).
bench-curve: install-bench
	.ci/postgres
	$(BIN)/python benchmarks/curve.py $(BENCH_ARGS)

# Where a request's time goes, drf_scim against the floor, profiled in one process (benchmarks/profiles.py --help).
bench-profile: install-bench
	.ci/postgres
	$(BIN)/python benchmarks/profiles.py $(BENCH_ARGS)

# drf_scim at BEFORE against AFTER (default: the working tree), interleaved rounds (benchmarks/compare.py --help).
bench-compare: install-bench
	@test -n "$(BEFORE)" || { echo "Name the revision to compare against: make bench-compare BEFORE=<git rev>" >&2; exit 2; }
	.ci/postgres
	$(BIN)/python benchmarks/compare.py --before '$(BEFORE)' $(if $(AFTER),--after '$(AFTER)') $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check drf_scim tests sample_site benchmarks deploy docs
	$(BIN)/ruff format --check drf_scim tests sample_site benchmarks deploy docs

format: install
	$(BIN)/ruff check --fix drf_scim tests sample_site benchmarks deploy docs
	$(BIN)/ruff format drf_scim tests sample_site benchmarks deploy docs

clean:
	rm -rf $(VENV) sample_site/db.sqlite3 .pytest_cache .ruff_cache
