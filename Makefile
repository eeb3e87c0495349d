# The two commands of the README: `make run` serves the registry, `make test` runs every check.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint format schema load clean

# The webhook worker runs beside gunicorn and is stopped (SIGTERM, then waited for) whenever the shell ends:
# gunicorn exiting, Ctrl-C or a TERM to make (docs/operations.md).
run: $(VENV)/.runtime
	$(BIN)/python manage.py bootstrap
	$(BIN)/python manage.py deliver_webhooks & worker=$$!; \
	trap 'kill -TERM $$worker 2>/dev/null; wait $$worker' EXIT; trap 'exit 130' INT TERM; \
	$(BIN)/gunicorn -c gunicorn.conf.py

test: $(VENV)/.dev
	bash scripts/test.sh

lint: $(VENV)/.dev  # the static checks of `make test`, without the suite
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache
	$(BIN)/mypy

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

$(VENV)/bin/pip:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements.txt | $(VENV)/bin/pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(VENV)/bin/pip
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $(VENV)/.runtime $@

load: $(VENV)/.dev  # the load and fault suite, about 3 min: bench/load_faults.py, options in LOAD="--database postgres"
	$(BIN)/python bench/load_faults.py $(LOAD)

schema: $(VENV)/.dev  # regenerate docs/openapi.yaml after changing the API (a test checks it)
	$(BIN)/python manage.py spectacular --validate --fail-on-warn --file docs/openapi.yaml

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts
