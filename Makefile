# One command to run the site, one to test it. Each sets itself up on a fresh machine.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
HOST ?= 127.0.0.1
PORT ?= 8000

# Local runs and tests use the development settings; production sets these for real.
export DJANGO_DEBUG ?= true

.PHONY: help run test setup install install-dev migrate train lint format bench-accuracy bench-speed clean

help:
	@echo "make run    - set up, train a model if none is active, serve at http://$(HOST):$(PORT) with the task worker"
	@echo "make test   - set up and run the whole test suite"
	@echo "make lint   - ruff check and format check"

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

train: setup
	$(PY) manage.py train_model

run: setup
	$(PY) manage.py train_model --if-none-active
	PY=$(PY) HOST=$(HOST) PORT=$(PORT) bash scripts/serve.sh

test: install-dev
	$(PY) -m pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install-dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
