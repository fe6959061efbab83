# One command to run the site, one to test it. Each sets itself up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000
# Test processes (pytest-xdist); 0 runs the suite in this one process.
TEST_WORKERS ?= 2
PYTEST = $(PY) -m pytest -n $(TEST_WORKERS)
SQLITE_PASS = $(PYTEST) -m "not two_servers" $(PYTEST_ARGS)

# Local runs and tests use the development settings; production sets these for real.
export DJANGO_DEBUG ?= true

.PHONY: help run serve test test-sqlite setup install install-dev migrate train lint format bench-accuracy bench-numbers bench-reading-ab bench-speed bench-batch bench-load bench-hostile bench-not-a-digit digitness-examples container-test clean

help:
	@echo "make run    - set up, train a starter model if none is active, serve at http://$(HOST):$(PORT) with the task worker (which trains the default model in the background)"
	@echo "make serve  - production-like: gunicorn, DEBUG off, collected static files"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint   - ruff check and format check"
	@echo "make container-test - build the image, run the compose stack with podman, use it, tear it down"
	@echo "make bench-accuracy | bench-numbers | bench-reading-ab | bench-speed | bench-batch | bench-load | bench-hostile | bench-not-a-digit - benchmarks (docs/benchmarks.md)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed-runtime: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --progress-bar off -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --progress-bar off -r requirements-dev.txt
	touch $@ $(VENV)/.installed-runtime

install: $(VENV)/.installed-runtime
install-dev: $(VENV)/.installed-dev

migrate: install
	$(PY) manage.py migrate --noinput

setup: migrate

# KIND=rf|svm|ensemble|extratrees (default: ensemble, see docs/benchmarks.md).
train: setup
	$(PY) manage.py train_model $(if $(KIND),--kind $(KIND))

# Serves within a minute: a starter model first (seconds); the task worker trains the default
# model in the background and it replaces the starter, without a restart.
run: setup
	$(PY) manage.py train_model --starter --if-none-active
	PY=$(PY) HOST=$(HOST) PORT=$(PORT) bash scripts/serve.sh

# Production-like: gunicorn with WEB_CONCURRENCY workers, DEBUG off, whitenoise static files.
# Without DJANGO_SECRET_KEY, a key is generated once and kept in $(SECRET_KEY_FILE).
SECRET_KEY_FILE ?= var/secret_key
serve: DJANGO_DEBUG = false
serve: install
	@set -e; \
	if [ -z "$$DJANGO_SECRET_KEY" ]; then \
		mkdir -p $(dir $(SECRET_KEY_FILE)); \
		if [ ! -s $(SECRET_KEY_FILE) ]; then \
			(umask 077; $(PY) -c 'import secrets; print(secrets.token_urlsafe(50))' > $(SECRET_KEY_FILE)); \
		fi; \
		DJANGO_SECRET_KEY="$$(cat $(SECRET_KEY_FILE))"; export DJANGO_SECRET_KEY; \
		echo "Using the secret key kept in $(SECRET_KEY_FILE) (set DJANGO_SECRET_KEY to use your own)."; \
	fi; \
	$(PY) manage.py migrate --noinput; \
	$(PY) manage.py collectstatic --noinput --verbosity 0; \
	$(PY) manage.py train_model --if-none-active; \
	echo "Serving on http://$(HOST):$(PORT) as if behind an HTTPS proxy; to browse it directly over plain HTTP: DJANGO_HTTPS=false make serve"; \
	HOST=$(HOST) PORT=$(PORT) exec $(BIN)/gunicorn -c gunicorn.conf.py

# The whole suite on SQLite and the filesystem, then again on a real PostgreSQL (installed and
# started when missing) with the two gunicorn servers sharing it. The second pass leaves out what
# touches no database (tests/ml, tests/benchmarks) and the browser flows (tests/e2e), whose
# views and queries the rest of the suite runs on PostgreSQL already. Each pass runs in
# TEST_WORKERS processes. Chromium is installed when missing. PYTEST_ARGS narrows both passes;
# `make test-sqlite` runs the first.
test: install-dev
	bash scripts/ensure-chromium.sh
	$(SQLITE_PASS)
	DATABASE_URL="$$(bash scripts/ensure-postgres.sh)" $(PYTEST) $(or $(PYTEST_ARGS),--ignore=tests/ml --ignore=tests/benchmarks --ignore=tests/e2e)

test-sqlite: install-dev
	$(SQLITE_PASS)

# The container image and compose stack (README, "Deploy with containers"), built and used with
# podman; installs podman, podman-compose and mmdebstrap when missing (scripts/container-test.sh).
container-test: install-dev
	PY=$(PY) bash scripts/container-test.sh

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Accuracy benchmark: naive seed pipeline vs this project on MNIST test and every kind of realistic
# upload, in one run (trains both models: minutes). PREVIOUS=<artifact folder> adds column (c).
bench-accuracy: install-dev
	$(PY) benchmarks/accuracy.py $(if $(PREVIOUS),--model $(PREVIOUS)) $(BENCH_ARGS)

# Numbers benchmark: exact whole-number and per-digit accuracy per kind of generated number
# (MNIST test digits, handwriting fonts, touching), single digits in auto vs digit mode, and the
# 12 MP speed; MODEL=<artifact folder> reads with it instead of training a forest here.
bench-numbers: install-dev
	$(PY) benchmarks/number_reading.py $(if $(MODEL),--model $(MODEL)) $(BENCH_ARGS)

# Reading speed of this checkout against another (BASELINE=<checkout>, e.g. from `git worktree
# add /tmp/old <commit>`), both timed in turn on the same uploads; MODEL=<artifact folder>.
bench-reading-ab: install-dev
	$(PY) benchmarks/reading_ab.py --baseline $(BASELINE) --model $(MODEL) $(BENCH_ARGS)

# Load benchmark: locust users (benchmarks/locustfile.py) headless against gunicorn on loopback,
# then a check that nothing was lost; BENCH_ARGS="--help" lists the knobs, e.g.
# BENCH_ARGS="--users 4 --run-time 20s CanvasDrawer".
bench-load: install-dev
	$(PY) benchmarks/load.py $(BENCH_ARGS)

# Hostile layouts: the worst CPU time to read or refuse uploads built to be slow (dots, hatching,
# grids...), against BASELINE (another checkout, e.g. main) in the same run; MODEL is an artifact
# folder. E.g. MODEL=var/models/<version> BASELINE=../main make bench-hostile.
bench-hostile: install-dev
	$(PY) benchmarks/hostile_layouts.py --model $(MODEL) $(if $(BASELINE),--baseline $(BASELINE)) $(BENCH_ARGS)

# "Not a digit": what the detector of MODEL=<artifact folder> refuses and what it costs the digits,
# against the same reading without it, in one run.
bench-not-a-digit: install-dev
	$(PY) benchmarks/not_a_digit.py --model $(MODEL) $(BENCH_ARGS)

# Remake data/digitness/examples.npz: the marks MODEL=<artifact folder> (without a detector) cuts
# from testkit's uploads of digits, numbers and non-digits (about 20 minutes on 2 cores).
digitness-examples: install-dev
	$(PY) -m testkit.digitness_examples --model $(MODEL) $(BENCH_ARGS)

# Speed benchmark: each stage (decode, preprocess, featurize, inference, whole upload request)
# against its baseline in one run. Without MODEL=<artifact folder> it trains the default model
# first (minutes); e.g. MODEL=var/models/<version> make bench-speed.
bench-speed: install-dev
	$(PY) benchmarks/speed.py $(if $(MODEL),--model $(MODEL)) --gunicorn-memory $(BENCH_ARGS)

# The largest batches the limits allow, read against a third of gunicorn's timeout. Without
# MODEL=<artifact folder> it trains a small forest first.
bench-batch: install-dev
	nice $(PY) benchmarks/batch_cost.py $(if $(MODEL),--model $(MODEL)) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
